import RecKitCLI

RecKitCommand.main()

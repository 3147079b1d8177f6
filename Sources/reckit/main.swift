import RecKitCLI

await RecKitCommand.main()

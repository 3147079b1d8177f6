import Foundation
import NeuralNet
import Tensors

/// Where a run stands: what a checkpoint saves.
struct RunState {
    var epoch = 0
    var badEpochs = 0
    var bestScore = -Double.infinity
    var best: [String: SafeTensor]?
    var history: [EpochRecord] = []
}

/// A training checkpoint: the network, the best weights so far, Adam's moments and the run's
/// progress, in one safetensors file written atomically.
enum TrainingCheckpoint {
    static func write<Network: Layer>(
        _ state: RunState, network: Network, optimizer: Adam<Float>, model: String, to url: URL
    ) throws where Network.Scalar == Float {
        var tensors: [String: SafeTensor] = [:]
        for (key, value) in StateDict.tensors(of: network) { tensors["network." + key] = value }
        for (key, value) in state.best ?? [:] { tensors["best." + key] = value }
        let adam = optimizer.state
        for (p, moment) in adam.first.enumerated() { tensors["adam.m.\(p)"] = SafeTensor(moment) }
        for (p, moment) in adam.second.enumerated() { tensors["adam.v.\(p)"] = SafeTensor(moment) }
        let history = String(decoding: try JSONEncoder().encode(state.history), as: UTF8.self)
        let metadata = [
            "format": "reckit-training-checkpoint", "model": model, "epoch": String(state.epoch),
            "bad_epochs": String(state.badEpochs), "best_score": String(state.bestScore),
            "adam_step": String(adam.step), "history": history,
        ]
        // `SafeTensors.write` replaces the file atomically: a crash leaves the previous epoch's.
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    static func restore<Network: Layer>(
        from url: URL, network: Network, optimizer: inout Adam<Float>, model: String
    ) throws -> RunState where Network.Scalar == Float {
        let (tensors, metadata) = try SafeTensors.read(from: url)
        func bad(_ reason: String) -> CheckpointError { .malformed(path: url.path, reason: reason) }
        guard metadata["format"] == "reckit-training-checkpoint" else { throw bad("not a training checkpoint") }
        guard metadata["model"] == model else {
            throw bad("written by \(metadata["model"] ?? "?"), not \(model)")
        }
        guard let epoch = metadata["epoch"].flatMap(Int.init), let badEpochs = metadata["bad_epochs"].flatMap(Int.init),
            let bestScore = metadata["best_score"].flatMap(Double.init),
            let step = metadata["adam_step"].flatMap(Int.init),
            let historyText = metadata["history"],
            let history = try? JSONDecoder().decode([EpochRecord].self, from: Data(historyText.utf8))
        else { throw bad("missing run metadata") }
        var current: [String: SafeTensor] = [:]
        var best: [String: SafeTensor] = [:]
        for (key, value) in tensors {
            if key.hasPrefix("network.") { current[String(key.dropFirst(8))] = value }
            if key.hasPrefix("best.") { best[String(key.dropFirst(5))] = value }
        }
        let count = network.parameters.count
        let first = try (0..<count).map { p in
            guard let tensor = tensors["adam.m.\(p)"] else { throw bad("missing adam.m.\(p)") }
            return try tensor.floats(key: "adam.m.\(p)")
        }
        let second = try (0..<count).map { p in
            guard let tensor = tensors["adam.v.\(p)"] else { throw bad("missing adam.v.\(p)") }
            return try tensor.floats(key: "adam.v.\(p)")
        }
        // Validate everything before changing anything.
        let probe = StateDict.tensors(of: network)
        try StateDict.load(current, into: network)
        if !best.isEmpty {
            do { try StateDict.load(best, into: network) } catch {
                try StateDict.load(probe, into: network)
                throw error
            }
            try StateDict.load(current, into: network)
        }
        guard optimizer.restore(step: step, first: first, second: second) else {
            try StateDict.load(probe, into: network)
            throw bad("optimizer state does not match the network")
        }
        return RunState(
            epoch: epoch, badEpochs: badEpochs, bestScore: bestScore, best: best.isEmpty ? nil : best, history: history)
    }
}

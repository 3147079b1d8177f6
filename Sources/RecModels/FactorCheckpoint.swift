import Foundation
import RecData
import Tensors

/// A resumable checkpoint of a factor model's training (ALS, BPR): both factor matrices after a
/// finished epoch, the epoch, and what they were trained on, in one safetensors file replaced
/// atomically. A run killed mid-epoch resumes after the last finished one; since each epoch's
/// randomness comes from `(seed, epoch)`, the resumed run continues as the unbroken one would.
struct FactorCheckpoint {
    var epoch: Int
    var users: Matrix<Float>
    var items: Matrix<Float>

    /// What must match for a checkpoint to be resumed: the model, its parameters but the epoch
    /// count (which a resumed run may raise), and the training data's shape.
    struct Identity: Equatable {
        var model: String
        var parameters: [String: String]
        var users: Int
        var items: Int
        var events: Int

        init(model: ModelKind, parameters: [String: String], data: TrainingData) {
            self.model = model.rawValue
            self.parameters = parameters.filter { $0.key != "iterations" }
            users = data.userCount
            items = data.itemCount
            events = data.matrix.nonzeroCount
        }

        var metadata: [String: String] {
            let keys = parameters.keys.sorted()
            return [
                "format": "reckit-factor-checkpoint", "model": model,
                "parameters": keys.map { "\($0)=\(parameters[$0] ?? "")" }.joined(separator: ","),
                "users": String(users), "items": String(items), "events": String(events),
            ]
        }
    }

    /// Starts a fit: replaces `users` and `items` with the checkpoint's factors when `data`'s
    /// control names one that exists, and returns the epoch to start from (at most `epochs`).
    static func resume(
        _ identity: Identity, data: TrainingData, epochs: Int, users: inout Matrix<Float>, items: inout Matrix<Float>
    ) throws -> Int {
        guard let saved = try restore(from: data.control.checkpoint, identity, columns: users.columns) else { return 0 }
        (users, items) = (saved.users, saved.items)
        return min(saved.epoch, epochs)
    }

    /// Ends an epoch: writes the checkpoint when `data`'s control names one.
    static func save(
        _ identity: Identity, data: TrainingData, epoch: Int, users: Matrix<Float>, items: Matrix<Float>
    ) throws {
        guard let url = data.control.checkpoint else { return }
        try FactorCheckpoint(epoch: epoch, users: users, items: items).write(identity, to: url)
    }

    func write(_ identity: Identity, to url: URL) throws {
        var metadata = identity.metadata
        metadata["epoch"] = String(epoch)
        try SafeTensors.write(
            [
                "user_factors": SafeTensor(users.storage, shape: [users.rows, users.columns]),
                "item_factors": SafeTensor(items.storage, shape: [items.rows, items.columns]),
            ], metadata: metadata, to: url)
    }

    /// The checkpoint at `url`, or nil when there is none; one written for other data, another
    /// model or other parameters is refused with the reason, never half-loaded.
    static func restore(from url: URL?, _ identity: Identity, columns: Int) throws -> FactorCheckpoint? {
        guard let url, FileManager.default.fileExists(atPath: url.path) else { return nil }
        let (tensors, metadata) = try SafeTensors.read(from: url)
        func bad(_ reason: String) -> CheckpointError { .malformed(path: url.path, reason: reason) }
        guard metadata["format"] == "reckit-factor-checkpoint" else { throw bad("not a factor-model checkpoint") }
        for (key, expected) in identity.metadata where metadata[key] != expected {
            throw bad("written for \(key) \(metadata[key] ?? "none"), this run has \(expected)")
        }
        guard let epoch = metadata["epoch"].flatMap(Int.init), epoch >= 0 else { throw bad("missing the epoch") }
        try SafeTensors.requireExactKeys(tensors, expected: ["user_factors", "item_factors"])
        let users = try Matrix(loading: tensors["user_factors"], key: "user_factors", columns: columns)
        let items = try Matrix(loading: tensors["item_factors"], key: "item_factors", columns: columns)
        guard users.rows == identity.users, items.rows == identity.items else {
            throw bad("factor shapes do not match the data")
        }
        return FactorCheckpoint(epoch: epoch, users: users, items: items)
    }
}

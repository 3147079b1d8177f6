/// Layers, losses, optimizers and checkpoints on the `Tensors` core.
public enum NeuralNet {}

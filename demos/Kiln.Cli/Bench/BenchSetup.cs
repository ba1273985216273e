namespace Kiln.Cli.Bench;

/// <summary>
/// One workload built for one size: the network, the input shapes it is compiled for and how it is compiled
/// (inference, or a training step with its optimizer), plus the forward multiply-add count the throughput is
/// computed from (a training step counts three forward passes, as the peer does).
/// </summary>
internal sealed record BenchSetup(Network Network, IReadOnlyDictionary<string, Shape> Inputs, CompileOptions Options, double Flops)
{
    /// <summary>Inputs and compile options for a network that only runs forward.</summary>
    public static BenchSetup Inference(Network net, Dictionary<string, Shape> inputs) =>
        new(net, inputs, new CompileOptions { InputShapes = inputs }, FlopCounter.Forward(net, inputs));

    /// <summary>A whole training step (forward, loss, backward, update) of <paramref name="net"/>.</summary>
    public static BenchSetup TrainingStep(Network net, Dictionary<string, Shape> inputs, Optimizer optimizer, float learningRate) =>
        new(net, inputs, new CompileOptions { InputShapes = inputs, Training = true, Optimizer = optimizer, LearningRate = learningRate },
            3 * FlopCounter.Forward(net, inputs));
}

using Kiln.Training;

namespace Kiln;

/// <summary>
/// How a training step updates each parameter from its gradient, on the GPU (<see cref="CompileOptions.Optimizer"/>):
/// <see cref="Sgd"/>, <see cref="Adam"/> or <see cref="AdamW"/>, each with PyTorch's semantics. The learning rate comes
/// from the step-state buffer (<see cref="CompileOptions.LearningRate"/>, <see cref="CompileOptions.Schedule"/>);
/// running state (momentum, moments) lives in tensors named "&lt;param&gt;.&lt;state&gt;"
/// (<see cref="CompiledNetwork.OptimizerState"/>), zero at the start.
/// </summary>
public abstract class Optimizer
{
    // The update is a GPU kernel of this assembly, so the set of optimizers is closed to it.
    private protected Optimizer() { }

    /// <summary>Checks the hyperparameters; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    internal abstract void Validate();

    /// <summary>Emits the update of one parameter from its gradient (and declares the state it keeps).</summary>
    internal abstract void EmitUpdate(ParameterUpdate update);

    private protected static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }
}

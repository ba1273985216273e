using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// The learning rate of each training step as a function of the step counter t (steps done before it) and the
/// base rate (<see cref="CompiledNetwork.LearningRate"/>), computed on the GPU at the start of the update, so a
/// recorded step replays unchanged: <see cref="ConstantSchedule"/>, <see cref="StepDecay"/>,
/// <see cref="CosineAnnealing"/>, each optionally after a <see cref="LinearWarmup"/>. Step t uses the rate
/// torch.optim.lr_scheduler gives after t calls of scheduler.step().
/// </summary>
public abstract class LearningRateSchedule
{
    // Each schedule is a kernel of this assembly (shaders/lr), so the set is closed to it.
    private protected LearningRateSchedule() { }

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    internal abstract void Validate();

    /// <summary>Shader module under shaders/lr and its own specialization constants (ids 3 onwards).</summary>
    private protected abstract (string Module, uint[] Constants) Kernel { get; }

    /// <summary>Emits the kernel that writes this step's rate into the step state, after a warm-up of (steps, start, end).</summary>
    internal virtual void Emit(Emitter emitter) => Emit(emitter, 0, 1f, 1f);

    internal void Emit(Emitter emitter, uint warmupSteps, float warmupStart, float warmupEnd)
    {
        var (module, own) = Kernel;
        var constants = new[] { warmupSteps, KernelSpec.Word(warmupStart), KernelSpec.Word(warmupEnd) }.Concat(own).ToArray();
        var spec = new KernelSpec(module, new[] { BindingKind.StorageBuffer }, 0, constants, 1);
        emitter.Dispatch(spec, (1, 1, 1), Array.Empty<byte>(), "learning_rate", new Arg(null, Access.ReadWrite));
    }

    private protected static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }
}

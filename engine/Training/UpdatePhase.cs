using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Training;

/// <summary>
/// The end of a training step, after the backward pass: this step's learning rate from the schedule, the
/// gradient-clipping factor and the loss scale's check (<see cref="LossScaling"/>), each parameter's optimizer update
/// (with L1/L2 regularisation), then the step counter; with <see cref="CompileOptions.UpdateParameters"/> false only the
/// step counter. Everything reads and writes the step-state buffer on the GPU, so the recorded step replays unchanged.
/// </summary>
internal static class UpdatePhase
{
    /// <summary>The parameter name regularisation skips, as TensorFlow Playground leaves biases alone.</summary>
    public const string UnregularizedName = "bias";

    public static void Emit(Emitter emitter, IReadOnlyList<(Value Param, Value Grad, ParameterSpec Spec)> parameters, CompileOptions options,
        LossScaling scaling)
    {
        emitter.Phase = "update";
        if (options.UpdateParameters) EmitUpdates(emitter, parameters, options, scaling);
        var advance = new KernelSpec("optim/step_state", new[] { BindingKind.StorageBuffer }, 0, Array.Empty<uint>(), 1);
        emitter.Dispatch(advance, (1, 1, 1), Array.Empty<byte>(), "step_state.advance", new Arg(null, Access.ReadWrite));
    }

    static void EmitUpdates(Emitter emitter, IReadOnlyList<(Value Param, Value Grad, ParameterSpec Spec)> parameters, CompileOptions options,
        LossScaling scaling)
    {
        Validate(options);
        options.Schedule.Emit(emitter);
        if (!scaling.IsOff && parameters.Count > 0)
        {
            // Dynamic loss scaling checks the gradients for infinities and NaNs through their sum of squares, which
            // global-norm clipping needs too: one kernel does both.
            var constants = new[] { KernelSpec.Word(options.ClipGradientNorm ?? 0f), (uint)scaling.GrowthInterval };
            GradientClipping.EmitScaleUpdate(emitter, parameters.Select(p => p.Grad).ToList(),
                new GradientClipping.ScaleUpdate("loss_scale", constants), "loss_scale.update");
        }
        else if (options.ClipGradientNorm is { } maxNorm && parameters.Count > 0)
            GradientClipping.Emit(emitter, parameters.Select(p => p.Grad).ToList(), maxNorm);
        foreach (var (param, grad, spec) in parameters)
        {
            bool regularized = spec.Name != UnregularizedName;
            options.Optimizer.EmitUpdate(new ParameterUpdate(emitter, param, grad, regularized ? options.L1 : 0f, regularized ? options.L2 : 0f));
        }
    }

    static void Validate(CompileOptions o)
    {
        if (o.Optimizer is null) throw new ArgumentException("CompileOptions.Optimizer is null; use e.g. new Sgd() or new Adam().");
        if (o.Schedule is null) throw new ArgumentException("CompileOptions.Schedule is null; use new ConstantSchedule() for a fixed rate.");
        o.Optimizer.Validate();
        o.Schedule.Validate();
        o.LossScaling?.Validate();
        if (o.ClipGradientNorm is { } c && !(c > 0 && float.IsFinite(c)))
            throw new ArgumentException($"CompileOptions.ClipGradientNorm must be positive and finite, got {c}.");
        if (!(o.L1 >= 0 && float.IsFinite(o.L1))) throw new ArgumentException($"CompileOptions.L1 must be >= 0, got {o.L1}.");
        if (!(o.L2 >= 0 && float.IsFinite(o.L2))) throw new ArgumentException($"CompileOptions.L2 must be >= 0, got {o.L2}.");
    }
}

using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>A registered implementation of conv2d forward (with fused bias and activation).</summary>
internal interface IConv2dForward : IKernelEntry
{
    /// <summary>Whether the registry should pick this kernel for the layer's geometry and shapes untuned (specialised
    /// kernels have limits, and some pay only on some shapes).</summary>
    bool Accepts(ConvAttributes a, Shape x, Shape y) => true;

    /// <summary>Whether the kernel computes the layer correctly at all (its hard limits): where a tuner may time it.</summary>
    bool CanRun(ConvAttributes a, Shape x, Shape y) => Accepts(a, x, y);

    void Emit(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope, string label);

    /// <summary>The dispatches a tuner may time for the layer (each computes the whole output; names unique per entry).</summary>
    IReadOnlyList<TuneCandidate> Candidates(Emitter e, ConvAttributes a, Value x, Value w, Value? bias, Value y, Activation act, float slope);
}

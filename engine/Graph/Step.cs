using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>How a dispatch uses one of its bindings.</summary>
internal enum Access { Read, Write, ReadWrite }

/// <summary>One binding of a step: a value (or the step-state buffer when Value is null) and how it is used.</summary>
internal readonly record struct Arg(Value? Value, Access Access)
{
    public static Arg In(Value v) => new(v, Access.Read);
    public static Arg Out(Value v) => new(v, Access.Write);
    public static Arg InOut(Value v) => new(v, Access.ReadWrite);
    /// <summary>The step-state buffer (step counter, learning rate, seed, loss scale), read-only to kernels.</summary>
    public static Arg State => new(null, Access.Read);
}

/// <summary>One dispatch of the compiled graph, before memory is planned.</summary>
internal sealed class Step
{
    public Step(KernelSpec spec, Arg[] args, byte[] push, uint gx, uint gy, uint gz, string label, string phase)
    {
        Spec = spec;
        Args = args;
        Push = push;
        GroupsX = gx; GroupsY = gy; GroupsZ = gz;
        Label = label;
        Phase = phase;
    }

    public KernelSpec Spec { get; }
    public Arg[] Args { get; }
    public byte[] Push { get; }
    public uint GroupsX { get; }
    public uint GroupsY { get; }
    public uint GroupsZ { get; }
    /// <summary>"conv2d_0.fwd"-style name shown by `kiln plan` and in profiles.</summary>
    public string Label { get; }
    /// <summary>forward, backward or update.</summary>
    public string Phase { get; }
    /// <summary>Dependency level: one more than the highest level of an earlier step it conflicts with.</summary>
    public int Level { get; set; }
}

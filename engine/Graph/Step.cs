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
    /// <summary>
    /// Floating-point operations of the dispatch, 2 per multiply-add, where its layer says (<see cref="Emitter.AttributeFlops"/>:
    /// the convolutions' and products' compute dispatches); 0 for the passes that only move data.
    /// </summary>
    public double Flops { get; set; }
    /// <summary>
    /// Bytes of the values the dispatch binds, once per direction (a value read and written counts twice): the traffic of a
    /// pass that reads and writes each element once; less than a kernel moves where it reads elements more than once from
    /// memory. A kernel that touches part of a value (a concat copy's slice) declares what it moves instead.
    /// </summary>
    public long Bytes => DeclaredBytes ?? Args.Where(a => a.Value != null).Select(a => (a.Value!, a.Access)).Distinct()
        .Sum(a => a.Item1.Bytes * ((a.Access != Access.Write ? 1 : 0) + (a.Access != Access.Read ? 1 : 0)));
    /// <summary>What a kernel that touches part of a value it binds moves, where it says (<see cref="Emitter.DeclareBytes"/>).</summary>
    public long? DeclaredBytes { get; set; }
}

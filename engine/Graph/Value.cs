namespace Kiln.Graph;

/// <summary>What a value is for; decides whether the memory planner may share its memory.</summary>
internal enum ValueKind
{
    /// <summary>A network input, written by the host.</summary>
    Input,
    /// <summary>A named output (or the loss), read by the host after a step.</summary>
    Output,
    Parameter,
    /// <summary>A parameter's gradient: kept, the optimizer and the host read it.</summary>
    ParameterGradient,
    /// <summary>An optimizer's running state (Adam's moments): kept across steps, starts at zero.</summary>
    OptimizerState,
    /// <summary>
    /// Computed from parameters alone each step (a weight packed into a kernel's layout or flipped for a gradient): kept
    /// in a buffer of its own rather than in the shared transient memory, so the pass that writes it conflicts with no
    /// earlier step's reuse of those bytes and runs in the schedule's first level, beside the others like it.
    /// </summary>
    Derived,
    /// <summary>Lives only between its first and last use in the schedule: memory shared by liveness.</summary>
    Transient,
}

/// <summary>
/// One tensor edge of the compiled graph: shape, element type and layout, and where it lives once planned.
/// Several values can be aliases of one storage (<see cref="AliasOf"/>), e.g. a Flatten's output.
/// </summary>
internal sealed class Value
{
    public Value(int id, Shape shape, ElementType type, TensorLayout layout, ValueKind kind, string name)
    {
        Id = id;
        Shape = shape;
        ElementType = type;
        Layout = layout;
        Kind = kind;
        Name = name;
    }

    public int Id { get; }
    public Shape Shape { get; }
    public ElementType ElementType { get; }
    public TensorLayout Layout { get; }
    public ValueKind Kind { get; set; }
    public string Name { get; }
    /// <summary>The value whose storage this one views (same bytes, another shape).</summary>
    public Value? AliasOf { get; set; }
    public Value Root => AliasOf?.Root ?? this;
    public long Bytes => Shape.Elements * ElementType.SizeInBytes();

    /// <summary>Planned placement: the persistent tensor, or an offset in the shared transient arena.</summary>
    public Tensor? Tensor { get; set; }
    public long ArenaOffset { get; set; } = -1;
    public int ArenaIndex { get; set; } = -1;

    /// <summary>
    /// A value that stands for a tensor no step binds (id -1, never planned): what a kernel entry sizes its candidates
    /// from where the tensor it computes for is not one of the graph's values (a concatenation read from its parts, a
    /// flipped or packed weight a prepare pass makes, one output phase of a strided gradient).
    /// </summary>
    public static Value StandIn(Shape shape, ElementType type, TensorLayout layout, string name) =>
        new(-1, shape, type, layout, ValueKind.Transient, name);

    public override string ToString() => $"{Name} {Shape} {ElementType.Name()} {Layout}";
}

namespace Kiln.Graph;

/// <summary>What a layer's forward rule sees: its input values, its output value, its parameters, the emitter.</summary>
internal sealed class ForwardPass
{
    readonly IReadOnlyDictionary<string, Value> parameters;

    public ForwardPass(Emitter emitter, Value[] inputs, Value output, IReadOnlyDictionary<string, Value> parameters, string name)
    {
        Emitter = emitter;
        Inputs = inputs;
        Output = output;
        this.parameters = parameters;
        Name = name;
    }

    public Emitter Emitter { get; }
    public Value[] Inputs { get; }
    public Value Input => Inputs[0];
    public Value Output { get; }
    /// <summary>The node's name, the prefix of its step labels.</summary>
    public string Name { get; }
    /// <summary>An activation the fusion pass folded into this layer: apply it to the output in the same kernel.</summary>
    public Activation Activation { get; init; }
    public float Slope { get; init; }
    /// <summary>
    /// A 2x2, stride-2 max pool that reads this layer's output and that the compiler offers to compute in the same kernel
    /// (a convolution's ".pool.keep" variant); a layer that does calls <see cref="FusedPool.Take"/> for the value to write,
    /// else the pool runs on its own.
    /// </summary>
    public FusedPool? Pool { get; init; }
    /// <summary>True when compiling a training step (Dropout drops, BatchNorm uses batch statistics and updates its running ones).</summary>
    public bool Training { get; init; }
    public Value Param(string name) => parameters[name];
    public bool HasParam(string name) => parameters.ContainsKey(name);
    /// <summary>Keeps a value this pass made for the layer's gradient rule (<see cref="BackwardPass.Saved"/>).</summary>
    public void Save(string key, Value value) => Emitter.Save($"{Name}/{key}", value);
}

/// <summary>
/// A max pool offered to the layer before it (<see cref="ForwardPass.Pool"/>): its node's name, and its output, made when
/// the layer takes it (<see cref="Take"/>); null while it has not.
/// </summary>
internal sealed class FusedPool(string name, Func<Value> make)
{
    public string Name { get; } = name;
    public Value? Output { get; private set; }
    public Value Take() => Output ??= make();
}

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
    /// <summary>True when compiling a training step (Dropout drops, BatchNorm uses batch statistics and updates its running ones).</summary>
    public bool Training { get; init; }
    public Value Param(string name) => parameters[name];
    public bool HasParam(string name) => parameters.ContainsKey(name);
    /// <summary>Keeps a value this pass made for the layer's gradient rule (<see cref="BackwardPass.Saved"/>).</summary>
    public void Save(string key, Value value) => Emitter.Save($"{Name}/{key}", value);
}

namespace Kiln.Graph;

/// <summary>
/// What a layer's gradient rule sees: the forward values, the gradient of its output, and where to write the
/// gradients of its inputs (null for an input that needs none) and of its parameters. Each input gradient
/// is a fresh value of this layer's own: the compiler sums contributions when a value feeds several layers.
/// </summary>
internal sealed class BackwardPass
{
    readonly IReadOnlyDictionary<string, Value> parameters;
    readonly IReadOnlyDictionary<string, Value> parameterGrads;

    public BackwardPass(Emitter emitter, Value[] inputs, Value output, Value gradOutput, Value?[] gradInputs,
        IReadOnlyDictionary<string, Value> parameters, IReadOnlyDictionary<string, Value> parameterGrads, string name)
    {
        Emitter = emitter;
        Inputs = inputs;
        Output = output;
        GradOutput = gradOutput;
        GradInputs = gradInputs;
        this.parameters = parameters;
        this.parameterGrads = parameterGrads;
        Name = name;
    }

    public Emitter Emitter { get; }
    public Value[] Inputs { get; }
    public Value Input => Inputs[0];
    public Value Output { get; }
    public Value GradOutput { get; }
    public Value?[] GradInputs { get; }
    public Value? GradInput => GradInputs[0];
    public string Name { get; }
    public Value Param(string name) => parameters[name];
    public bool HasParam(string name) => parameters.ContainsKey(name);
    public Value GradParam(string name) => parameterGrads[name];
    /// <summary>A value the layer's forward pass kept for this rule (<see cref="ForwardPass.Save"/>).</summary>
    public Value Saved(string key) => Emitter.Saved($"{Name}/{key}");
}

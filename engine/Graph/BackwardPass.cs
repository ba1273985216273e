using Kiln.Layers;

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
        InputActivations = new ActivationGradient?[inputs.Length];
        ActivatedGradInputs = new bool[inputs.Length];
        InputPools = new PoolGradient?[inputs.Length];
        PooledGradInputs = new bool[inputs.Length];
    }

    public Emitter Emitter { get; }
    public Value[] Inputs { get; }
    public Value Input => Inputs[0];
    public Value Output { get; }
    public Value GradOutput { get; }
    public Value?[] GradInputs { get; }
    public Value? GradInput => GradInputs[0];
    public string Name { get; }

    /// <summary>
    /// Per input, the activation fused into the layer that wrote it, where this rule is the last of that output's one or
    /// two readers to run (the other's gradient then its <see cref="ActivationGradient.Addend"/>): the rule may take the
    /// activation's gradient in the kernel that writes the input's gradient (<see cref="ActivationGradient"/>). Null:
    /// none to take.
    /// </summary>
    public ActivationGradient?[] InputActivations { get; }

    /// <summary>Per input, set by the rule where it took <see cref="InputActivations"/>' gradient: what it wrote into
    /// <see cref="GradInputs"/> is the gradient before that activation.</summary>
    public bool[] ActivatedGradInputs { get; }

    /// <summary>
    /// Per input, where it is a 2x2, stride-2 max pool that this rule alone reads: the pool's gradient, which the rule may
    /// take in the kernel that computes the input's gradient (<see cref="PoolGradient"/>). Null: none to take.
    /// </summary>
    public PoolGradient?[] InputPools { get; }

    /// <summary>Per input, set by the rule where it took <see cref="InputPools"/>' gradient: it wrote
    /// <see cref="PoolGradient.Gradient"/> in place of <see cref="GradInputs"/>' value, which stays unwritten.</summary>
    public bool[] PooledGradInputs { get; }
    public Value Param(string name) => parameters[name];
    public bool HasParam(string name) => parameters.ContainsKey(name);
    public Value GradParam(string name) => parameterGrads[name];
    /// <summary>A value the layer's forward pass kept for this rule (<see cref="ForwardPass.Save"/>).</summary>
    public Value Saved(string key) => Emitter.Saved($"{Name}/{key}");
}

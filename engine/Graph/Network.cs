namespace Kiln;

/// <summary>
/// A network as a graph of layers: named inputs, layers applied to nodes (any wiring: skips, several inputs
/// and outputs), named outputs, and optionally a loss to train (or a given gradient of a node to start the backward pass
/// from: <see cref="SetOutputGradient"/>). Compile it for input shapes on a context.
/// </summary>
public class Network
{
    readonly List<Node> nodes = new();
    readonly Dictionary<string, Node> inputs = new();
    readonly List<(string Name, Node Node)> outputs = new();
    readonly Dictionary<string, int> kindCounts = new();

    public IReadOnlyList<Node> Nodes => nodes;
    public IReadOnlyDictionary<string, Node> Inputs => inputs;
    public IReadOnlyList<(string Name, Node Node)> Outputs => outputs;
    /// <summary>The scalar the network is trained to lower, when set by <see cref="SetLoss"/>.</summary>
    public Node? Loss { get; private set; }
    /// <summary>The node and the given gradient of it that the backward pass starts from in place of a loss, when set by
    /// <see cref="SetOutputGradient"/>.</summary>
    public (Node Output, Node Gradient)? OutputGradient { get; private set; }

    /// <summary>Declares (or returns) the input named <paramref name="name"/>.</summary>
    public Node Input(string name)
    {
        if (inputs.TryGetValue(name, out var existing)) return existing;
        var n = new Node(this, null, Array.Empty<Node>(), name);
        inputs[name] = n;
        nodes.Add(n);
        return n;
    }

    /// <summary>Applies <paramref name="layer"/> to <paramref name="from"/>; the node is named after the layer kind and a counter ("conv2d_0").</summary>
    public Node Add(Layer layer, params Node[] from) => Add(layer, null, from);

    /// <summary>Applies <paramref name="layer"/> to <paramref name="from"/> as a node named <paramref name="name"/> (null: kind and counter).</summary>
    public Node Add(Layer layer, string? name, params Node[] from)
    {
        ArgumentNullException.ThrowIfNull(layer);
        foreach (var f in from)
            if (f.Network != this) throw new GraphException($"{layer.Kind}: an input node belongs to another network.");
        if (layer.InputCount is { } count && from.Length != count)
            throw new GraphException($"{name ?? layer.Kind}: {layer.Kind} takes {count} input(s), {from.Length} given.");
        if (from.Length == 0) throw new GraphException($"{name ?? layer.Kind}: a layer needs at least one input.");
        if (name == null)
        {
            kindCounts.TryGetValue(layer.Kind, out int k);
            kindCounts[layer.Kind] = k + 1;
            name = $"{layer.Kind}_{k}";
        }
        if (nodes.Any(n => n.Name == name)) throw new GraphException($"A node named '{name}' already exists.");
        var node = new Node(this, layer, from.ToArray(), name);
        nodes.Add(node);
        return node;
    }

    /// <summary>Rewires input <paramref name="index"/> of <paramref name="node"/> (free-form graphs; a cycle is caught at compile).</summary>
    public void Connect(Node from, Node node, int index)
    {
        if (node.IsInput) throw new GraphException($"{node}: a network input has no inputs to connect.");
        if (index < 0 || index >= node.Inputs.Length) throw new GraphException($"{node}: has no input {index}.");
        var ins = node.Inputs.ToArray();
        ins[index] = from;
        node.Inputs = ins;
    }

    public Node Output(Node node, string name = "y")
    {
        if (outputs.Any(o => o.Name == name)) throw new GraphException($"An output named '{name}' already exists.");
        outputs.Add((name, node));
        return node;
    }

    /// <summary>Adds <paramref name="loss"/> applied to the prediction and target (and mask) nodes, as the training objective.</summary>
    public Node SetLoss(Layer loss, params Node[] from)
    {
        if (OutputGradient is { } seeded)
            throw new GraphException($"The network's backward pass already starts from a given gradient of {seeded.Output} (SetOutputGradient); it can't have a loss too.");
        Loss = Add(loss, "loss", from);
        return Loss;
    }

    /// <summary>
    /// Starts the backward pass of a training compile from a given gradient of <paramref name="output"/> in place of a loss,
    /// as PyTorch's <c>torch.autograd.grad(output, inputs, gradient)</c> does: the step computes the gradients of
    /// sum(output * gradient) with respect to the parameters (<see cref="CompiledNetwork.Gradients"/>) and, with
    /// <see cref="CompileOptions.InputGradients"/>, the inputs, for a network inside a larger differentiable system whose
    /// loss is computed elsewhere. <paramref name="gradient"/> (usually an input) has output's shape and is used as
    /// given: no loss scaling applies. With <see cref="CompileOptions.UpdateParameters"/> (the default) the optimizer then
    /// updates the parameters from these gradients; false leaves them for the caller to read. A network has a loss or an
    /// output gradient, not both.
    /// </summary>
    public void SetOutputGradient(Node output, Node gradient)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(gradient);
        if (output.Network != this || gradient.Network != this) throw new GraphException("SetOutputGradient: a node belongs to another network.");
        if (output.IsInput) throw new GraphException($"SetOutputGradient: {output} is an input, whose gradient would be the given one; name a node a layer computes.");
        if (Loss != null) throw new GraphException($"SetOutputGradient: the network has a loss ({Loss}); the backward pass starts from one or the other.");
        if (OutputGradient is { } seeded) throw new GraphException($"SetOutputGradient: the backward pass already starts from a gradient of {seeded.Output}.");
        OutputGradient = (output, gradient);
    }

    /// <summary>Compiles for the given input shapes: shape inference, fusion, autodiff when training, memory planning, scheduling.</summary>
    public CompiledNetwork Compile(GpuContext context, CompileOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        var device = context.KernelDevice;
        var tuner = options.Autotune ?? !device.IsCpu ? context.Tuner : null;
        // A plan made while choosing and never run, in options' layout (NCHW where that is null): compiled once, not again.
        Graph.GraphPlan? planned = null;
        if (options.FuseMlp == null && options.Fuse && tuner != null)
        {
            (bool? fuse, string? entry, planned) = Graph.PlanChoices.FuseMlp(this, context, options, tuner);
            options = options with { FuseMlp = fuse, PreferKernels = entry == null ? options.PreferKernels : options.PreferKernels.Append(entry).ToArray() };
        }
        if (options.RowBands == null && options.Fuse && !options.Training && tuner != null)
        {
            (int? bands, planned) = Graph.PlanChoices.RowBands(this, context, options, tuner, planned);
            options = options with { RowBands = bands };
        }
        if (options.ActivationLayout == null && tuner != null)
        {
            var (layout, plan) = Graph.ActivationLayouts.Choose(this, context, options, tuner, planned);
            options = options with { ActivationLayout = layout };
            return new CompiledNetwork(context, options, plan ?? Graph.Compiler.Plan(this, device, options, tuner));
        }
        return new CompiledNetwork(context, options, planned ?? Graph.Compiler.Plan(this, device, options, tuner));
    }

    /// <summary>The compiled graph's dispatches, barriers and memory for a device, without allocating anything.</summary>
    public PlanReport Plan(DeviceInfo device, CompileOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        return Graph.Compiler.Plan(this, device, options).Report();
    }
}

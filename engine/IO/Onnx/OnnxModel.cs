namespace Kiln.IO;

/// <summary>
/// An imported ONNX model: the Kiln <see cref="Network"/> built from it for fixed input shapes, the values of its
/// parameters (from the file's initializers) and the map from ONNX initializer names to Kiln parameters.
/// <see cref="Compile"/> runs it as defined; <see cref="CompileGradients"/> adds a loss against a target and keeps
/// the gradient of every initializer and input.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Name of the target input a gradient session adds (chosen not to collide with ONNX names in practice).</summary>
    public const string TargetInput = "kiln.target";

    readonly IReadOnlyDictionary<string, float[]> values;
    readonly IReadOnlyList<(string OnnxName, Func<Func<string, float[]>, float[]> Gradient)> gradients;
    bool lossAdded;

    internal OnnxModel(Network network, int opset, IReadOnlyDictionary<string, Shape> inputShapes, IReadOnlyDictionary<string, Shape> outputs,
        IReadOnlyList<OnnxParameter> parameters, IReadOnlyDictionary<string, float[]> values,
        IReadOnlyList<(string, Func<Func<string, float[]>, float[]>)> gradients)
    {
        Network = network;
        Opset = opset;
        InputShapes = inputShapes;
        OutputNames = outputs.Keys.ToList();
        OutputShapes = outputs;
        Parameters = parameters;
        this.values = values;
        this.gradients = gradients;
    }

    public Network Network { get; }
    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }
    /// <summary>The concrete shape of each input, by ONNX input name.</summary>
    public IReadOnlyDictionary<string, Shape> InputShapes { get; }
    public IReadOnlyList<string> OutputNames { get; }
    /// <summary>The inferred shape of each output, by ONNX output name.</summary>
    public IReadOnlyDictionary<string, Shape> OutputShapes { get; }
    /// <summary>Every initializer that became a Kiln parameter.</summary>
    public IReadOnlyList<OnnxParameter> Parameters { get; }
    /// <summary>ONNX names of the initializers that get a gradient (in model order; a shared one once).</summary>
    public IReadOnlyList<string> TrainableNames => gradients.Select(g => g.OnnxName).Distinct().ToList();

    /// <summary>Compiles for inference (BatchNorm on running statistics, Dropout a copy) and loads the parameters.</summary>
    public CompiledNetwork Compile(GpuContext context)
    {
        var compiled = Network.Compile(context, new CompileOptions { InputShapes = InputShapes });
        return Loaded(compiled);
    }

    /// <summary>
    /// Uploads the model's parameter values (from the file) into a network compiled from <see cref="Network"/>
    /// some other way, e.g. with a loss and an optimizer to fine-tune it.
    /// </summary>
    public void LoadParameters(CompiledNetwork compiled)
    {
        ArgumentNullException.ThrowIfNull(compiled);
        foreach (var (name, v) in values)
        {
            if (!compiled.Parameters.TryGetValue(name, out var t)) throw new KilnException($"the compiled network has no parameter '{name}'; compile it from this model's Network.");
            t.Upload(v);
        }
    }

    /// <summary>
    /// Compiles one forward and backward pass of the graph exactly as defined (inference behaviour) with
    /// <paramref name="loss"/> (MseLoss, L1Loss, ...) between the single output and <see cref="TargetInput"/>. It updates
    /// no parameters (<see cref="CompileOptions.UpdateParameters"/> false), so running it leaves them as loaded. Read the results with
    /// <see cref="ParameterGradients"/> and <see cref="CompiledNetwork.InputGradients"/>.
    /// </summary>
    public CompiledNetwork CompileGradients(GpuContext context, Layer loss)
    {
        if (lossAdded) throw new KilnException("a gradient session was already compiled from this import; import the model again.");
        if (InputShapes.ContainsKey(TargetInput)) throw new KilnException($"the model has an input named '{TargetInput}', the name gradient sessions give the target.");
        if (OutputNames.Count != 1) throw new KilnException($"gradients need a model with one output, this one has {OutputNames.Count} ({string.Join(", ", OutputNames)}).");
        var output = Network.Outputs.Single().Node;
        lossAdded = true;
        Network.SetLoss(loss, output, Network.Input(TargetInput));
        var shapes = InputShapes.ToDictionary();
        shapes[TargetInput] = OutputShapes[OutputNames[0]];
        var compiled = Network.Compile(context, new CompileOptions { InputShapes = shapes, Training = true, InputGradients = true, UpdateParameters = false });
        return Loaded(compiled);
    }

    CompiledNetwork Loaded(CompiledNetwork compiled)
    {
        try
        {
            LoadParameters(compiled);
            return compiled;
        }
        catch
        {
            compiled.Dispose();
            throw;
        }
    }

    /// <summary>The gradient of each initializer (by ONNX name, in its ONNX layout) after a step of a gradient session.</summary>
    public IReadOnlyDictionary<string, float[]> ParameterGradients(CompiledNetwork compiled)
    {
        var cache = new Dictionary<string, float[]>();
        float[] Grad(string kilnName) => cache.TryGetValue(kilnName, out var g) ? g : cache[kilnName] = compiled.Gradients[kilnName].ToArray();
        var result = new Dictionary<string, float[]>();
        foreach (var (name, gradient) in gradients)
        {
            var g = gradient(Grad);
            if (result.TryGetValue(name, out var sum)) // an initializer used by several nodes: contributions add up
                for (int i = 0; i < g.Length; i++) sum[i] += g[i];
            else result[name] = g;
        }
        return result;
    }
}

using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// A network compiled for fixed input shapes on one context: its tensors planned and allocated, its
/// dispatches prepared once (pipelines, descriptor sets). <c>Record</c> writes a step into any
/// <see cref="CommandTarget"/> (Kiln's command list or a host's command buffer), whole or one segment
/// of dependency levels at a time; <see cref="Run"/> replays Kiln's own recording.
/// </summary>
public sealed class CompiledNetwork : IDisposable
{
    /// <summary>Step state, read by kernels from a GPU buffer: what changes between steps without re-recording.</summary>
    const int StateBytes = 64;
    // levels[slot][level]: the dispatches of each dependency level, per input buffer set. Dispatches that
    // read no input are shared between the sets.
    readonly List<List<DispatchCall>>[] levels;
    readonly Dictionary<Value, Tensor>[] inputSlots;
    readonly Dictionary<string, Value> inputValues;
    readonly List<Tensor> owned = new();
    readonly DescriptorArena descriptors;
    readonly Tensor state;
    readonly List<BufferAllocation> arenas = new();
    readonly CommandList?[] replay;
    bool disposed;
    float learningRate;
    uint seed;
    float initialLossScale = 1f;

    public GpuContext Context { get; }
    public IReadOnlyDictionary<string, Tensor> Inputs { get; }
    public IReadOnlyDictionary<string, Tensor> Outputs { get; }
    /// <summary>Parameters by "node.param" name (e.g. "conv2d_0.weight").</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters { get; }
    /// <summary>Parameter gradients by the parameter's name (training only).</summary>
    public IReadOnlyDictionary<string, Tensor> Gradients { get; }
    /// <summary>
    /// The optimizer's running state by "&lt;param&gt;.&lt;state&gt;" name (e.g. "linear_0.weight.exp_avg"; empty for
    /// plain SGD): with the parameters and <see cref="ReadStepState"/>, what a checkpoint saves to resume exactly.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> OptimizerState { get; } = new Dictionary<string, Tensor>();
    /// <summary>Gradient of the loss with respect to each input (with CompileOptions.InputGradients).</summary>
    public IReadOnlyDictionary<string, Tensor> InputGradients { get; } = new Dictionary<string, Tensor>();
    public PlanReport Plan { get; }
    public bool Training { get; }
    /// <summary>How the plan stores its 4-D activations inside (<see cref="CompileOptions.ActivationLayout"/>, as chosen where
    /// that was left to the compile): NHWC where it keeps any value so, else NCHW (an MLP compiled with NHWC asked for has no
    /// 4-D activations to lay out); inputs and outputs are NCHW either way.</summary>
    public TensorLayout ActivationLayout { get; }
    /// <summary>Number of dependency levels: the segments <c>Record(target, firstLevel, count)</c> can record separately.</summary>
    public int LevelCount => levels[0].Count;
    /// <summary>Number of input buffer sets (<see cref="CompileOptions.InputBuffers"/>).</summary>
    public int InputBufferCount => levels.Length;

    internal CompiledNetwork(GpuContext context, CompileOptions options, GraphPlan plan)
    {
        Context = context;
        Training = options.Training;
        ActivationLayout = plan.Emitter.Values.Any(v => v.Layout == TensorLayout.Nhwc) ? TensorLayout.Nhwc : TensorLayout.Nchw;
        if (options.InputBuffers is < 1 or > 2) throw new ArgumentException($"CompileOptions.InputBuffers must be 1 or 2, got {options.InputBuffers}.");
        levels = Enumerable.Range(0, options.InputBuffers).Select(_ => new List<List<DispatchCall>>()).ToArray();
        inputSlots = Enumerable.Range(0, options.InputBuffers).Select(_ => new Dictionary<Value, Tensor>()).ToArray();
        replay = new CommandList?[options.InputBuffers];
        inputValues = plan.Inputs;
        if (plan.Memory.Oversized.Count > 0)
            throw new GraphException($"The network can't run on {context.Info.Name} at these sizes: {string.Join("; ", plan.Memory.Oversized)}. Use a smaller image or batch, or a device with larger buffers.");
        descriptors = new DescriptorArena(context, "compiled network");
        try
        {
            foreach (var v in plan.Emitter.Values.Where(v => v.AliasOf == null && v.Kind != ValueKind.Transient))
                owned.Add(v.Tensor = new Tensor(context, v.Shape, v.ElementType, v.Layout, v.Name));
            foreach (var bytes in plan.Memory.ArenaBytes)
                arenas.Add(context.Allocator.Allocate(bytes, $"compiled network activations {arenas.Count}"));
            state = new Tensor(context, new Shape(StateBytes / 4), ElementType.F32, null, "step state");
            owned.Add(state);
            foreach (var v in plan.Inputs.Values)
            {
                inputSlots[0][v] = v.Tensor!;
                for (int slot = 1; slot < inputSlots.Length; slot++)
                    owned.Add(inputSlots[slot][v] = new Tensor(context, v.Shape, v.ElementType, v.Layout, $"{v.Name} (input set {slot})"));
            }
            // The plan's pipelines that do not exist yet (a first compile's, with no disk cache to hit) are compiled on
            // several threads at once, the driver's compiler being the slow part of compiling a network.
            context.Pipelines.Warm(plan.Levels.SelectMany(l => l).Select(s => s.Spec));
            foreach (var level in plan.Levels)
            {
                var shared = level.Select(s => Prepare(s, 0)).ToList();
                levels[0].Add(shared);
                for (int slot = 1; slot < levels.Length; slot++)
                    levels[slot].Add(level.Select((s, i) => ReadsInput(s) ? Prepare(s, slot) : shared[i]).ToList());
            }
            var (inputs, outputs, parameters, grads, inputGrads) = (plan.Inputs, plan.Outputs, plan.Parameters, plan.ParameterGradients, plan.InputGradients);

            Inputs = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Tensor!);
            Outputs = outputs.ToDictionary(kv => kv.Key, kv => kv.Value.Root.Tensor!);
            Parameters = parameters.ToDictionary(p => p.Name, p => p.Value.Tensor!);
            Gradients = grads.ToDictionary(g => g.Param.Name, g => g.Grad.Tensor!);
            InputGradients = inputGrads.ToDictionary(kv => kv.Key, kv => kv.Value.Tensor!);
            foreach (var (name, value, spec) in parameters)
                value.Tensor!.Upload(ParameterInitializer.Values(spec, options.Seed, name));
            var optimizerState = plan.Emitter.Values.Where(v => v.Kind == ValueKind.OptimizerState).ToList();
            foreach (var v in optimizerState) v.Tensor!.Upload(new float[v.Shape.Elements]);
            OptimizerState = optimizerState.ToDictionary(v => v.Name, v => v.Tensor!);
            learningRate = options.LearningRate;
            initialLossScale = plan.LossScaling.Initial;
            seed = unchecked((uint)options.Seed);
            WriteState(step: 0);

            Plan = plan.Report();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    static bool ReadsInput(Step s) => s.Args.Any(a => a.Value?.Root.Kind == ValueKind.Input);

    DispatchCall Prepare(Step s, int slot)
    {
        var bindings = s.Args.Select(a => BindingOf(a, slot)).ToArray();
        return new DispatchCall(Context, descriptors, Context.Pipelines.Get(s.Spec), bindings, s.Push, s.GroupsX, s.GroupsY, s.GroupsZ, s.Label);
    }

    Binding BindingOf(Arg a, int slot)
    {
        if (a.Value == null) return Binding.Of(state.Storage);
        var root = a.Value.Root;
        if (root.Kind == ValueKind.Input) return Binding.Of(inputSlots[slot][root].Storage);
        if (root.Kind == ValueKind.Transient)
            return Binding.Range(arenas[root.ArenaIndex], (ulong)root.ArenaOffset, (ulong)root.Bytes);
        return Binding.Of(root.Tensor!.Storage);
    }

    /// <summary>The input tensors of one input buffer set (set 0 is <see cref="Inputs"/>).</summary>
    public IReadOnlyDictionary<string, Tensor> InputsOf(int slot)
    {
        if (slot < 0 || slot >= inputSlots.Length) throw new ArgumentOutOfRangeException(nameof(slot), $"Input set {slot} does not exist; the network has {inputSlots.Length}.");
        return inputValues.ToDictionary(kv => kv.Key, kv => inputSlots[slot][kv.Value]);
    }

    /// <summary>Records one whole step (forward; backward and update when training) reading input set <paramref name="slot"/>.</summary>
    public void Record(CommandTarget target, int slot = 0) => Record(target, 0, LevelCount, slot);

    /// <summary>
    /// Records dependency levels [<paramref name="firstLevel"/>, firstLevel + count): a segment of the step, so a
    /// host can spread a network over several frames. Segments must be recorded in order.
    /// </summary>
    public void Record(CommandTarget target, int firstLevel, int count, int slot = 0)
    {
        ThrowIfDisposed();
        if (slot < 0 || slot >= levels.Length) throw new ArgumentOutOfRangeException(nameof(slot), $"Input set {slot} does not exist; the network has {levels.Length}.");
        if (target.Context != Context) throw new ArgumentException("The command target belongs to another GpuContext.");
        if (firstLevel < 0 || count < 0 || firstLevel + count > LevelCount)
            throw new ArgumentOutOfRangeException(nameof(count), $"Levels [{firstLevel}, {firstLevel + count}) are outside 0..{LevelCount}.");
        var r = target.Recorder;
        r.Use(descriptors);
        for (int i = firstLevel; i < firstLevel + count; i++)
        {
            // The target opens with a full barrier, and each segment's first level may read what the previous
            // segment (another submission) wrote: order it too.
            if (i > firstLevel || firstLevel > 0) r.Barrier(BarrierKind.ComputeToCompute);
            foreach (var d in levels[slot][i]) r.Record(d);
        }
    }

    /// <summary>Runs one step on Kiln's own command list (recorded on the first call, replayed after) and waits.</summary>
    public void Run() => RunAsync(0).Wait();

    /// <summary>
    /// Submits one step on input set <paramref name="slot"/> without waiting (recorded on first use, replayed
    /// after). Steps run in submission order; the next call on the same set waits for this one first.
    /// </summary>
    public Submission RunAsync(int slot = 0)
    {
        ThrowIfDisposed();
        if (slot < 0 || slot >= replay.Length) throw new ArgumentOutOfRangeException(nameof(slot), $"Input set {slot} does not exist; the network has {replay.Length}.");
        if (replay[slot] == null)
        {
            var list = Context.CreateCommandList($"compiled network (input set {slot})");
            Record(list, slot);
            replay[slot] = list;
        }
        return replay[slot]!.Submit();
    }

    /// <summary>
    /// Base learning rate, in the step-state buffer (takes effect from the next step, no re-recording); the
    /// schedule (<see cref="CompileOptions.Schedule"/>) computes each step's rate from it on the GPU.
    /// </summary>
    public float LearningRate
    {
        get => learningRate;
        set
        {
            ThrowIfDisposed();
            if (!float.IsFinite(value)) throw new ArgumentException($"The learning rate must be finite, got {value}.");
            learningRate = value;
            WriteState(step: null);
        }
    }

    /// <summary>Steps run so far: the counter the GPU advances at the end of each training step.</summary>
    public uint StepCount => ReadStepState().Step;

    /// <summary>Reads the step-state buffer (waits for nothing: call it between steps).</summary>
    public StepState ReadStepState()
    {
        ThrowIfDisposed();
        var w = state.ToArray();
        return new StepState(Bits(w[0]), w[4], w[1], w[5], Bits(w[2]), w[3], Bits(w[6]), Bits(w[7]));
    }

    /// <summary>
    /// Restores the step state (a checkpoint's <see cref="ReadStepState"/>): step counter, base and current rate,
    /// clipping factor and seed. The next step continues from there as if it had never stopped.
    /// </summary>
    public void WriteStepState(StepState s)
    {
        ThrowIfDisposed();
        if (!float.IsFinite(s.BaseLearningRate) || !float.IsFinite(s.LearningRate) || !float.IsFinite(s.GradientScale) || !(s.LossScale >= 1f && float.IsFinite(s.LossScale)))
            throw new ArgumentException($"Step state has a non-finite rate or scale, or a loss scale below 1: {s}.");
        learningRate = s.BaseLearningRate;
        seed = s.Seed;
        var w = state.ToArray();
        w[0] = Word(s.Step);
        w[1] = s.LearningRate;
        w[2] = Word(s.Seed);
        w[4] = s.BaseLearningRate;
        w[5] = s.GradientScale;
        w[3] = s.LossScale;
        w[6] = Word(s.GoodSteps);
        w[7] = Word(s.SkippedSteps);
        w[8] = 0f;
        state.Upload(w);
    }

    static uint Bits(float f) => BitConverter.SingleToUInt32Bits(f);
    static float Word(uint u) => BitConverter.UInt32BitsToSingle(u);

    // Words as in shaders/include/state.glsl. The host writes the base rate into both rate words; the schedule
    // kernel overwrites word 1 at each training step.
    void WriteState(uint? step)
    {
        var words = state.ToArray();
        if (step is { } s)
        {
            words[0] = Word(s);
            words[3] = initialLossScale;
            words[5] = 1f;
            words[6] = words[7] = words[8] = 0f;
        }
        words[1] = learningRate;
        words[2] = Word(seed);
        words[4] = learningRate;
        state.Upload(words);
    }

    /// <summary>
    /// Writes every parameter (trainable or not) to a safetensors file, named as in <see cref="Parameters"/>.
    /// The file is written beside the target and renamed over it, so an interrupted save never loses the last one.
    /// </summary>
    public void SaveParameters(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ThrowIfDisposed();
        IO.Safetensors.Write(path, Parameters.Select(p => (p.Key, p.Value.Shape.ToArray(), p.Value.ToArray())), metadata);
    }

    /// <summary>
    /// Loads parameters saved by <see cref="SaveParameters"/> (or any safetensors file with the same names and
    /// shapes). Every name and shape is checked before anything is uploaded; a file missing a parameter, or
    /// holding one this network doesn't have, is rejected.
    /// </summary>
    public void LoadParameters(string path)
    {
        ThrowIfDisposed();
        var (tensors, _) = IO.Safetensors.Read(path);
        var missing = Parameters.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var extra = tensors.Keys.Where(k => !Parameters.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new KilnException($"{path}: parameters don't match the network (missing: {string.Join(", ", missing.DefaultIfEmpty("none"))}; not in the network: {string.Join(", ", extra.DefaultIfEmpty("none"))}).");
        foreach (var (name, t) in Parameters)
            if (!tensors[name].Shape.SequenceEqual(t.Shape.ToArray()))
                throw new KilnException($"{path}: parameter '{name}' is [{string.Join(",", tensors[name].Shape)}] in the file, {t.Shape} in the network.");
        var values = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToFloats());
        foreach (var (name, t) in Parameters) t.Upload(values[name]);
    }

    /// <summary>Uploads an input by name; an f16 input (CompileOptions.F16InputsAndOutputs) is rounded to f16 on the way
    /// (to nearest even, as the GPU's conversion rounds).</summary>
    public void SetInput(string name, ReadOnlySpan<float> data)
    {
        var t = Tensor(Inputs, name, "input");
        if (t.ElementType != ElementType.F16) { t.Upload(data); return; }
        var half = new Half[data.Length];
        for (int i = 0; i < data.Length; i++) half[i] = (Half)data[i];
        t.Upload(half);
    }

    /// <summary>Downloads an output ("loss" for the loss) by name.</summary>
    public float[] GetOutput(string name) => Tensor(Outputs, name, "output").ToArray();

    static Tensor Tensor(IReadOnlyDictionary<string, Tensor> map, string name, string what) =>
        map.TryGetValue(name, out var t) ? t : throw new ArgumentException($"The network has no {what} '{name}' (it has: {string.Join(", ", map.Keys)}).");

    void ThrowIfDisposed()
    {
        if (disposed) throw new ObjectDisposedException(nameof(CompiledNetwork));
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (replay != null)
            foreach (var r in replay) r?.Dispose();
        foreach (var t in owned) t.Dispose();
        foreach (var a in arenas) a.Dispose();
        descriptors.Dispose();
    }
}

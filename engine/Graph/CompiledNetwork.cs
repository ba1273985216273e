using Kiln.Graph;
using Kiln.Vulkan;

namespace Kiln;

/// <summary>
/// A network compiled for fixed input shapes on one context: its tensors planned and allocated, its
/// dispatches prepared once (pipelines, descriptor sets). <see cref="Record"/> writes a step into any
/// <see cref="CommandTarget"/> (Kiln's command list or a host's command buffer), whole or one segment
/// of dependency levels at a time; <see cref="Run"/> replays Kiln's own recording.
/// </summary>
public sealed class CompiledNetwork : IDisposable
{
    /// <summary>Step state, read by kernels from a GPU buffer: what changes between steps without re-recording.</summary>
    const int StateBytes = 64;
    readonly List<List<DispatchCall>> levels = new();
    readonly List<Tensor> owned = new();
    readonly DescriptorArena descriptors;
    readonly Tensor state;
    readonly BufferAllocation? arena;
    CommandList? replay;
    bool disposed;
    float learningRate;

    public GpuContext Context { get; }
    public IReadOnlyDictionary<string, Tensor> Inputs { get; }
    public IReadOnlyDictionary<string, Tensor> Outputs { get; }
    /// <summary>Parameters by "node.param" name (e.g. "conv2d_0.weight").</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters { get; }
    /// <summary>Parameter gradients by the parameter's name (training only).</summary>
    public IReadOnlyDictionary<string, Tensor> Gradients { get; }
    /// <summary>Gradient of the loss with respect to each input (with CompileOptions.InputGradients).</summary>
    public IReadOnlyDictionary<string, Tensor> InputGradients { get; } = new Dictionary<string, Tensor>();
    public PlanReport Plan { get; }
    public bool Training { get; }
    /// <summary>Number of dependency levels: the segments <see cref="Record(CommandTarget,int,int)"/> can record separately.</summary>
    public int LevelCount => levels.Count;

    internal CompiledNetwork(GpuContext context, CompileOptions options, Emitter emitter,
        Dictionary<string, Value> inputs, Dictionary<string, Value> outputs,
        List<(string Name, Value Value, ParameterSpec Spec)> parameters, List<(Value Param, Value Grad)> grads,
        Dictionary<string, Value> inputGrads)
    {
        Context = context;
        Training = options.Training;
        descriptors = new DescriptorArena(context, "compiled network");
        try
        {
            var memory = MemoryPlanner.Assign(emitter.Values, emitter.Steps);
            foreach (var v in emitter.Values.Where(v => v.AliasOf == null && v.Kind != ValueKind.Transient))
                owned.Add(v.Tensor = new Tensor(context, v.Shape, v.ElementType, v.Layout, v.Name));
            if (memory.ArenaBytes > 0) arena = context.Allocator.Allocate(memory.ArenaBytes, "compiled network activations");
            state = new Tensor(context, new Shape(StateBytes / 4), ElementType.F32, null, "step state");
            owned.Add(state);

            var stepLevels = Scheduler.Levels(emitter.Steps, arena ?? new object(), state);
            foreach (var level in stepLevels)
                levels.Add(level.Select(Prepare).ToList());

            Inputs = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Tensor!);
            Outputs = outputs.ToDictionary(kv => kv.Key, kv => kv.Value.Root.Tensor!);
            Parameters = parameters.ToDictionary(p => p.Name, p => p.Value.Tensor!);
            Gradients = grads.ToDictionary(g => g.Param.Name, g => g.Grad.Tensor!);
            InputGradients = inputGrads.ToDictionary(kv => kv.Key, kv => kv.Value.Tensor!);
            foreach (var (name, value, spec) in parameters)
                value.Tensor!.Upload(ParameterInitializer.Values(spec, options.Seed, name));
            learningRate = options.LearningRate;
            WriteState(step: 0);

            Plan = new PlanReport
            {
                Dispatches = stepLevels.SelectMany(l => l).Select(Describe).ToList(),
                Barriers = Math.Max(0, stepLevels.Count - 1),
                PlannedBytes = memory.ArenaBytes + memory.PersistentBytes,
                NaiveBytes = memory.NaiveBytes,
                ArenaBytes = memory.ArenaBytes,
                PersistentBytes = memory.PersistentBytes,
                ParameterCount = parameters.Sum(p => p.Value.Shape.Elements),
            };
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    DispatchCall Prepare(Step s)
    {
        var bindings = s.Args.Select(a => BindingOf(a)).ToArray();
        return new DispatchCall(Context, descriptors, Context.Pipelines.Get(s.Spec), bindings, s.Push, s.GroupsX, s.GroupsY, s.GroupsZ, s.Label);
    }

    Binding BindingOf(Arg a)
    {
        if (a.Value == null) return Binding.Of(state.Storage);
        var root = a.Value.Root;
        if (root.Kind == ValueKind.Transient)
            return Binding.Range(arena!, (ulong)root.ArenaOffset, (ulong)root.Bytes);
        return Binding.Of(root.Tensor!.Storage);
    }

    static PlannedDispatch Describe(Step s) => new(s.Level, s.Phase, s.Label, s.Spec.Module,
        $"{s.GroupsX}x{s.GroupsY}x{s.GroupsZ}",
        s.Args.Where(a => a.Access != Access.Write).Select(a => a.Value?.Name ?? "step_state").ToList(),
        s.Args.Where(a => a.Access != Access.Read).Select(a => a.Value?.Name ?? "step_state").ToList());

    /// <summary>Records one whole step (forward; backward and update when training).</summary>
    public void Record(CommandTarget target) => Record(target, 0, levels.Count);

    /// <summary>
    /// Records dependency levels [<paramref name="firstLevel"/>, firstLevel + count): a segment of the step, so a
    /// host can spread a network over several frames. Segments must be recorded in order.
    /// </summary>
    public void Record(CommandTarget target, int firstLevel, int count)
    {
        ThrowIfDisposed();
        if (target.Context != Context) throw new ArgumentException("The command target belongs to another GpuContext.");
        if (firstLevel < 0 || count < 0 || firstLevel + count > levels.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Levels [{firstLevel}, {firstLevel + count}) are outside 0..{levels.Count}.");
        var r = target.Recorder;
        r.Use(descriptors);
        for (int i = firstLevel; i < firstLevel + count; i++)
        {
            // The target opens with a full barrier, and each segment's first level may read what the previous
            // segment (another submission) wrote: order it too.
            if (i > firstLevel || firstLevel > 0) r.Barrier(BarrierKind.ComputeToCompute);
            foreach (var d in levels[i]) r.Record(d);
        }
    }

    /// <summary>Runs one step on Kiln's own command list (recorded on the first call, replayed after) and waits.</summary>
    public void Run()
    {
        ThrowIfDisposed();
        if (replay == null)
        {
            replay = Context.CreateCommandList("compiled network");
            Record(replay);
        }
        replay.Run();
    }

    /// <summary>SGD learning rate, in the step-state buffer (takes effect from the next step, no re-recording).</summary>
    public float LearningRate
    {
        get => learningRate;
        set
        {
            learningRate = value;
            WriteState(step: null);
        }
    }

    /// <summary>Steps run so far: the counter the GPU advances at the end of each training step.</summary>
    public uint StepCount => BitConverter.SingleToUInt32Bits(state.ToArray()[0]);

    void WriteState(uint? step)
    {
        var words = state.ToArray();
        if (step is { } s) words[0] = BitConverter.UInt32BitsToSingle(s);
        words[1] = learningRate;
        words[3] = 1f;
        state.Upload(words);
    }

    /// <summary>Uploads an input by name.</summary>
    public void SetInput(string name, ReadOnlySpan<float> data) => Tensor(Inputs, name, "input").Upload(data);

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
        replay?.Dispose();
        foreach (var t in owned) t.Dispose();
        arena?.Dispose();
        descriptors.Dispose();
    }
}

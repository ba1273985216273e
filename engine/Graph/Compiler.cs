using Kiln.Layers;
using Kiln.Training;
using Kiln.Vulkan;

namespace Kiln.Graph;

/// <summary>
/// Turns a <see cref="Network"/> into a <see cref="CompiledNetwork"/>: topological order (cycles rejected),
/// shape inference, the fusion pass, forward emission, reverse-mode autodiff from the loss (each layer's
/// own gradient rule), the update phase (engine/Training: schedule, clipping, the optimizer), then memory
/// planning and scheduling.
/// </summary>
internal static class Compiler
{
    /// <summary>A node as compiled: the fusion pass may fold an activation into it.</summary>
    sealed class CNode
    {
        public required Node Source;
        public required CNode[] Inputs;
        public Shape Shape = null!;
        public Activation Fused;
        public float FusedSlope;
        public Value Output = null!;
        public Dictionary<string, Value> Params = new();
        public Dictionary<string, Value> ParamGrads = new();
        public List<Value> GradContributions = new();
        public bool NeedsGrad;
        public string Name => Source.Name;
        /// <summary>The compiled layer: the source node's, or the fused layer that replaced a chain ending here, or a
        /// convolution's form with a bias where a batch norm is folded into it.</summary>
        public Layer? Layer => Replacement ?? Fold?.Biased ?? Source.Layer;
        public Layer? Replacement;
        /// <summary>The batch norm folded into this node's convolution (<see cref="FoldBatchNorms"/>).</summary>
        public BatchNormFold? Fold;
        /// <summary>A max pool reading this node's output that its forward is offered to compute too (<see cref="OfferPools"/>).</summary>
        public CNode? PoolReader;
        /// <summary>Whether the layer before computed this (pool) node's output in its own kernel: it emits nothing itself.</summary>
        public bool PooledByProducer;
        /// <summary>Prefix of the parameters' names: "&lt;node&gt;." (a fused layer's parameters carry their own layers' names).</summary>
        public string ParamPrefix => Replacement != null ? "" : Name + ".";
    }

    /// <summary>
    /// A BatchNorm2d folded into the Conv2d before it: the convolution as written, the batch norm and its node's name, and
    /// the convolution with a bias that the plan runs with the folded weight and bias.
    /// </summary>
    sealed record BatchNormFold(Conv2d Conv, BatchNorm2d Norm, string NormName, Conv2d Biased);

    public static GraphPlan Plan(Network net, DeviceInfo device, CompileOptions options, KernelTuner? tuner = null)
    {
        var roots = net.Outputs.Select(o => o.Node).ToList();
        if (net.Loss != null) roots.Add(net.Loss);
        if (net.OutputGradient is { } given) roots.AddRange(new[] { given.Output, given.Gradient });
        if (roots.Count == 0) throw new GraphException("The network has no outputs and no loss: nothing to compute.");
        if (options.Training && net.Loss == null && net.OutputGradient == null)
            throw new GraphException("Training needs a loss or a gradient to start the backward pass from: call SetLoss (or Sequential.WithLoss) or SetOutputGradient.");
        var lossScaling = LossScalingOf(net, options);

        var order = TopologicalOrder(roots);
        var cnodes = new Dictionary<Node, CNode>();
        foreach (var n in order) cnodes[n] = new CNode { Source = n, Inputs = n.Inputs.Select(i => cnodes[i]).ToArray() };
        var list = order.Select(n => cnodes[n]).ToList();

        InferShapes(list, options);
        if (net.OutputGradient is { } seed && cnodes[seed.Output].Shape != cnodes[seed.Gradient].Shape)
            throw new GraphException($"SetOutputGradient: the gradient {seed.Gradient} is {cnodes[seed.Gradient].Shape}, the output {seed.Output} {cnodes[seed.Output].Shape}; they must match.");
        var fusedInto = new Dictionary<CNode, CNode>();
        // The convolutions batch norms are folded into (a later pass may fuse one into another layer: its parameters are
        // still set up from here).
        var folds = new List<CNode>();
        if (options.Fuse && !options.Training) list = FoldBatchNorms(list, net, folds);
        if (options.Fuse) list = FuseActivations(list, net, fusedInto);
        // An MLP kernel entry named in PreferKernels asks for the fused MLP as FuseMlp = true would.
        bool mlpNamed = KernelRegistry.All.OfType<IMlpKernels>().Any(k => KernelRegistry.Names(options.PreferKernels, k));
        if (options.Fuse && options.FuseMlp != false)
            list = FuseMlps(list, net, fusedInto, m => options.FuseMlp == true || mlpNamed || FusedMlp.Preferred(m, device));
        if (options.Fuse) list = FuseUpsampleConcats(list, net);
        if (options.Fuse) list = FuseConcatConvs(list, net);
        if (options.Fuse && !options.Training) list = FuseConvPools(list, net, fusedInto);
        if (options.Fuse && !options.Training) list = BandConvPairs(list, net, fusedInto, options);
        if (options.Fuse) OfferPools(list);
        // The compiled node that computes a network node (an activation folded into its producer is computed there).
        CNode Final(Node n) => fusedInto.TryGetValue(cnodes[n], out var p) ? p : cnodes[n];

        if (options.Precision == Precision.Fp16 && !(device.ShaderFloat16 && device.StorageBuffer16BitAccess))
            throw new GraphException($"Precision.Fp16 stores activations as f16, which needs the shaderFloat16 and storageBuffer16BitAccess " +
                $"features; {device.Name} has shaderFloat16 {device.ShaderFloat16}, storageBuffer16BitAccess {device.StorageBuffer16BitAccess}. Compile with Precision.Fp32.");
        var emitter = new Emitter(device, options.Precision, options.PreferKernels, options.TexelReads, tuner) { SubPixel = options.SubPixelDecoders };
        var act = emitter.ActivationType;
        // The element type of the inputs, named outputs and input gradients the host sees (CompileOptions.F16InputsAndOutputs).
        var edge = options.F16InputsAndOutputs ? act : ElementType.F32;
        var named = net.Outputs.Select(o => Final(o.Node)).ToHashSet();
        var lossNode = net.Loss != null ? Final(net.Loss) : null;
        if (lossNode != null) named.Add(lossNode);
        var inputs = new Dictionary<string, Value>();
        var outputs = new Dictionary<string, Value>();
        var parameters = new List<(string Name, Value Value, ParameterSpec Spec)>();

        // Values and parameters. A convolution with a batch norm folded into it runs with the folded weight and bias in
        // place of its parameters, whichever layer (its own, or a fused one) asks for them by name; where that is, its
        // parameters and the batch norm's are made (so they come in the unfused network's order) and the fold emitted.
        var foldOf = folds.SelectMany(c => new[] { ($"{c.Name}.weight", c), ($"{c.Name}.bias", c) }).ToDictionary(k => k.Item1, k => k.c);
        var folded = new Dictionary<string, Value>();
        Value Parameter(ParameterSpec p, string name)
        {
            var v = emitter.NewValue(p.Shape, ValueKind.Parameter, name);
            parameters.Add((v.Name, v, p));
            return v;
        }
        Value Folded(CNode c, string name)
        {
            if (folded.TryGetValue(name, out var done)) return done;
            var fold = c.Fold!;
            var conv = fold.Conv.Parameters.ToDictionary(p => p.Name, p => Parameter(p, $"{c.Name}.{p.Name}"));
            var norm = fold.Norm.Parameters.ToDictionary(p => p.Name, p => Parameter(p, $"{fold.NormName}.{p.Name}"));
            (folded[$"{c.Name}.weight"], folded[$"{c.Name}.bias"]) =
                fold.Norm.EmitFold(emitter, conv["weight"], conv.GetValueOrDefault("bias"), norm, $"{c.Name}+{fold.NormName}");
            return folded[name];
        }
        foreach (var c in list)
        {
            if (c.Layer == null)
            {
                c.Output = inputs[c.Name] = emitter.NewValue(c.Shape, ValueKind.Input, c.Name, edge);
                continue;
            }
            foreach (var p in c.Layer.Parameters)
            {
                if (foldOf.TryGetValue(c.ParamPrefix + p.Name, out var holder))
                {
                    c.Params[p.Name] = Folded(holder, c.ParamPrefix + p.Name);
                    continue;
                }
                c.Params[p.Name] = Parameter(p, c.ParamPrefix + p.Name);
            }
        }

        // Channels-last plans: a layer that forwards NHWC gets NHWC inputs and output, any other NCHW ones
        // (Emitter.InLayout transposes a value once per layout); outputs go back to NCHW for the caller. In training the
        // same holds for each gradient rule (Layer.BackwardsNhwc, see Backward).
        bool channelsLast = options.ActivationLayout == TensorLayout.Nhwc;
        if (options.ActivationLayout == TensorLayout.RowMajor)
            throw new GraphException("CompileOptions.ActivationLayout: 4-D activations are Nchw or Nhwc, not RowMajor.");
        // A loss (one value) runs NHWC only where its prediction is made NHWC (not a view, an input, a layer without an NHWC
        // forward): else it would transpose the prediction, the target and the gradient where it now transposes nothing.
        TensorLayout LayoutOf(CNode c) => channelsLast && c.Layer != null && !c.Layer.IsView
            && (c == lossNode ? LayoutOf(c.Inputs[0]) == TensorLayout.Nhwc : c.Shape.Rank == 4)
            && c.Layer.ForwardsNhwc(c.Inputs.Select(i => i.Shape).ToList()) ? TensorLayout.Nhwc : TensorLayout.Nchw;

        // Forward. Inputs and named outputs are NCHW in the edge type for the caller (f32, or with F16InputsAndOutputs the
        // activation type); activations inside are the activation type (and
        // layout), converted on the way in and out in one pass each. The loss is f32 whatever the activations (its
        // kernels accumulate and write f32).
        emitter.Phase = "forward";
        foreach (var c in list.Where(c => c.Layer == null))
        {
            var readers = list.Where(r => r.Inputs.Contains(c)).ToList();
            if (c.Shape.Rank == 4 && readers.Count > 0 && readers.All(r => LayoutOf(r) == TensorLayout.Nhwc))
            {
                var stored = emitter.NewValue(c.Shape, ValueKind.Transient, $"{c.Name}.nhwc", act, TensorLayout.Nhwc);
                ActivationLayouts.Transpose(emitter, c.Output, stored, $"{c.Name}.to_nhwc");
                c.Output = stored;
            }
            else if (act != c.Output.ElementType)
            {
                var stored = emitter.NewValue(c.Shape, ValueKind.Transient, $"{c.Name}.{act.Name()}", act);
                emitter.Convert(c.Output, stored, $"{c.Name}.to_{act.Name()}");
                c.Output = stored;
            }
        }
        var namedOutputs = new Dictionary<CNode, Value>();
        // A named output is written where the caller reads it when that is the plan's own form (f32, NCHW), else converted.
        bool Direct(CNode c, TensorLayout layout) => c == lossNode || (act == edge && layout == TensorLayout.Nchw);
        Value OutputOf(CNode c, TensorLayout layout) => emitter.NewValue(c.Shape, named.Contains(c) && Direct(c, layout) ? ValueKind.Output : ValueKind.Transient,
            c.Name, c == lossNode ? ElementType.F32 : act, layout == TensorLayout.Nhwc && c.Shape.Rank == 4 ? layout : null);
        foreach (var c in list.Where(c => c.Layer != null))
        {
            bool isNamed = named.Contains(c);
            var layout = LayoutOf(c);
            if (c.Layer!.IsView)
            {
                c.Output = emitter.Alias(emitter.InLayout(c.Inputs[0].Output, layout), c.Shape, c.Name);
                if (isNamed) throw new GraphException($"{c.Source}: a view layer can't be a network output; add it before another layer or output its input.");
            }
            else
            {
                bool direct = Direct(c, layout);
                // A pool the layer before computed (below) has its output already.
                if (!c.PooledByProducer)
                {
                    var ins = c.Inputs.Select(i => emitter.InLayout(i.Output, layout)).ToArray();
                    c.Output = OutputOf(c, layout);
                    // The pool offered to it is made in the layout it reads, which must be this one's (no transpose between).
                    var pool = c.PoolReader is { } reader && LayoutOf(reader) == layout ? new FusedPool(reader.Name, () => OutputOf(reader, layout)) : null;
                    c.Layer.Forward(new ForwardPass(emitter, ins, c.Output, c.Params, c.Name)
                        { Activation = c.Fused, Slope = c.FusedSlope, Training = options.Training, Pool = pool });
                    if (pool?.Output is { } pooled)
                    {
                        c.PoolReader!.Output = pooled;
                        c.PoolReader.PooledByProducer = true;
                    }
                }
                if (isNamed && !direct)
                {
                    // NCHW in the edge type for the caller, in one pass: from f16, from NHWC, or both.
                    var output = emitter.NewValue(c.Shape, ValueKind.Output, $"{c.Name}.{(layout == TensorLayout.Nhwc ? "nchw" : edge.Name())}", edge);
                    if (layout == TensorLayout.Nhwc)
                    {
                        ActivationLayouts.Transpose(emitter, c.Output, output, $"{c.Name}.to_nchw");
                        // A later NCHW reader (the loss) reads this copy where it is the same type: one transpose, not two.
                        if (output.ElementType == c.Output.ElementType) emitter.Relaid(c.Output, output);
                    }
                    else emitter.Convert(c.Output, output, $"{c.Name}.to_f32");
                    namedOutputs[c] = output;
                }
            }
        }
        foreach (var (name, node) in net.Outputs) outputs[name] = namedOutputs.GetValueOrDefault(Final(node)) ?? Final(node).Output;
        Value? loss = lossNode?.Output;
        if (loss != null) outputs["loss"] = loss;
        if (loss != null && loss.Shape.Elements != 1)
            throw new GraphException($"{net.Loss}: a loss must produce one value, it produces {loss.Shape}.");

        var paramGrads = new List<(Value Param, Value Grad)>();
        var inputGrads = new Dictionary<string, Value>();
        if (options.Training)
        {
            // The inputs whose gradients are kept: those named, or with none named every input.
            var wanted = options.InputGradients ? options.InputGradientNames ?? list.Where(c => c.Layer == null).Select(c => c.Name).ToList() : null;
            TensorLayout BackwardLayoutOf(CNode c) => LayoutOf(c) == TensorLayout.Nhwc
                && c.Layer!.BackwardsNhwc(c.Inputs.Select(i => i.Shape).ToList()) ? TensorLayout.Nhwc : TensorLayout.Nchw;
            var seeded = net.OutputGradient is { } og ? (Final(og.Output), Final(og.Gradient).Output) : default((CNode, Value)?);
            Backward(list, lossNode, seeded, emitter, paramGrads, wanted, !lossScaling.IsOff, BackwardLayoutOf, options.Fuse);
            if (options.InputGradients)
                foreach (var c in list.Where(c => c.Layer == null && c.GradContributions.Count > 0))
                {
                    var g = Sum(emitter, c.GradContributions, $"{c.Name}.grad");
                    if (g is { Kind: ValueKind.Transient, AliasOf: null, Layout: TensorLayout.Nchw } && g.ElementType == edge && g.Shape == c.Shape)
                    {
                        // Already what the host reads (the edge type, the input's layout): kept where it was written, not copied.
                        g.Kind = ValueKind.Output;
                        inputGrads[c.Name] = g;
                        continue;
                    }
                    var kept = emitter.NewValue(c.Shape, ValueKind.Output, $"{c.Name}.grad", edge);
                    if (g.Layout == TensorLayout.Nhwc) ActivationLayouts.Transpose(emitter, g, kept, $"{c.Name}.grad.keep");
                    else emitter.Convert(g, kept, $"{c.Name}.grad.keep");
                    inputGrads[c.Name] = kept;
                }
            var specs = parameters.ToDictionary(p => p.Value, p => p.Spec);
            UpdatePhase.Emit(emitter, paramGrads.Select(pg => (pg.Param, pg.Grad, specs[pg.Param])).ToList(), options, lossScaling);
        }
        var memory = MemoryPlanner.Assign(emitter.Values, emitter.Steps, (long)Math.Min(device.MaxStorageBufferRange, 1UL << 30),
            Scheduler.DataLevels(emitter.Steps, GraphPlan.StateKey));
        return new GraphPlan
        {
            Emitter = emitter,
            Inputs = inputs,
            Outputs = outputs,
            Parameters = parameters,
            ParameterGradients = paramGrads,
            InputGradients = inputGrads,
            Memory = memory,
            Levels = Scheduler.Levels(emitter.Steps, GraphPlan.StateKey),
            LossScaling = lossScaling,
        };
    }

    /// <summary>
    /// The loss scaling a plan's steps run with: <see cref="CompileOptions.LossScaling"/>, by default dynamic when training
    /// from a loss under <see cref="Precision.Fp16"/>; none for a step that nothing would unscale (one that starts from a
    /// given output gradient, which is no loss to scale, or updates no parameters), where asking for it is an error.
    /// </summary>
    static LossScaling LossScalingOf(Network net, CompileOptions options)
    {
        if (!options.Training) return LossScaling.Off;
        string? unscaled = net.Loss == null ? "starts from a given output gradient (SetOutputGradient), not from a loss"
            : !options.UpdateParameters ? "updates no parameters (UpdateParameters false), so nothing divides the scale out" : null;
        if (unscaled != null && options.LossScaling is { IsOff: false })
            throw new ArgumentException($"CompileOptions.LossScaling: the step {unscaled}; leave LossScaling null or Off.");
        return options.LossScaling ?? (unscaled == null && options.Precision == Precision.Fp16 ? new LossScaling() : LossScaling.Off);
    }

    static List<Node> TopologicalOrder(List<Node> roots)
    {
        var order = new List<Node>();
        var state = new Dictionary<Node, int>(); // 1 visiting, 2 done
        foreach (var r in roots) Visit(r, new Stack<Node>());
        return order;

        void Visit(Node n, Stack<Node> path)
        {
            if (state.TryGetValue(n, out int s))
            {
                if (s == 2) return;
                var cycle = path.Reverse().SkipWhile(p => p != n).Select(p => p.Name).Append(n.Name);
                throw new GraphException($"The network has a cycle: {string.Join(" -> ", cycle)}.");
            }
            state[n] = 1;
            path.Push(n);
            foreach (var i in n.Inputs) Visit(i, path);
            path.Pop();
            state[n] = 2;
            order.Add(n);
        }
    }

    static void InferShapes(List<CNode> list, CompileOptions options)
    {
        foreach (var c in list)
        {
            if (c.Layer == null)
            {
                if (!options.InputShapes.TryGetValue(c.Name, out var s))
                    throw new GraphException($"input '{c.Name}': no shape given in CompileOptions.InputShapes (given: {string.Join(", ", options.InputShapes.Keys)}).");
                c.Shape = s;
                continue;
            }
            var shapes = c.Inputs.Select(i => i.Shape).ToList();
            try
            {
                c.Shape = c.Layer.OutputShape(shapes);
            }
            catch (Exception e) when (e is GraphException or ArgumentException)
            {
                throw new GraphException($"{c.Source} (inputs {string.Join(", ", c.Inputs.Select(i => $"'{i.Name}' {i.Shape}"))}): {e.Message}");
            }
        }
        foreach (var extra in options.InputShapes.Keys.Where(k => list.All(c => c.Layer != null || c.Name != k)))
            throw new GraphException($"CompileOptions.InputShapes names '{extra}', which is not an input this network uses.");
        if (options.InputGradientNames is { } wanted)
        {
            if (!options.InputGradients)
                throw new ArgumentException("CompileOptions.InputGradientNames chooses among the input gradients: set InputGradients = true too.");
            foreach (var name in wanted.Where(n => list.All(c => c.Layer != null || c.Name != n)))
                throw new ArgumentException($"CompileOptions.InputGradientNames names '{name}', which is not an input this network uses " +
                    $"(its inputs: {string.Join(", ", list.Where(c => c.Layer == null).Select(c => c.Name))}).");
        }
    }

    /// <summary>
    /// In an inference plan, a BatchNorm2d (not itself a named value) whose input is a Conv2d output used nowhere else (nor
    /// named) is folded into the convolution: the running statistics' affine map scales its weight and bias
    /// (<see cref="BatchNorm2d.EmitFold"/>, a pass over the parameters each step), the batch norm's readers read the
    /// convolution, and the parameters keep their names. The convolution stays a <see cref="Conv2d"/> (with a bias), so an
    /// activation after the batch norm folds into it next, and a pool, row bands or a concatenation read fuse with it as
    /// with any convolution.
    /// </summary>
    static List<CNode> FoldBatchNorms(List<CNode> list, Network net, List<CNode> folds)
    {
        var uses = Uses(list);
        var named = NamedNodes(net);
        var removed = new Dictionary<CNode, CNode>();
        foreach (var c in list)
        {
            if (c.Layer is not BatchNorm2d norm || c.Replacement != null || named.Contains(c.Source)) continue;
            var src = c.Inputs[0];
            if (src.Layer is not Conv2d conv || src.Replacement != null || src.Fold != null || uses[src] != 1 || named.Contains(src.Source)) continue;
            var a = conv.Attributes;
            src.Fold = new BatchNormFold(conv, norm, c.Name, new Conv2d(a.InChannels, a.OutChannels, a.Kernel, a.Stride, a.Padding, a.Dilation, a.Groups));
            removed[c] = src;
            folds.Add(src);
        }
        if (removed.Count == 0) return list;
        foreach (var c in list)
            for (int i = 0; i < c.Inputs.Length; i++)
                if (removed.TryGetValue(c.Inputs[i], out var conv)) c.Inputs[i] = conv;
        return list.Where(c => !removed.ContainsKey(c)).ToList();
    }

    /// <summary>
    /// The fusion pass: an activation whose input is a conv or linear output used nowhere else is folded
    /// into that producer (one kernel writes act(conv(x))). Training stays exact: the activations' derivatives
    /// are computed from their outputs, which the fused kernel still writes. So is one that reads such an output through
    /// a view (Flatten, Reshape) that it alone reads, where it is not itself named (a view can't be): an elementwise
    /// activation commutes with the view, and its readers read the view of the activated output (an autoencoder's
    /// Linear, Reshape, ReLU).
    /// </summary>
    static List<CNode> FuseActivations(List<CNode> list, Network net, Dictionary<CNode, CNode> replaced)
    {
        var consumers = list.SelectMany(c => c.Inputs.Select(i => (Producer: i, Consumer: c)))
            .GroupBy(x => x.Producer).ToDictionary(g => g.Key, g => g.Select(x => x.Consumer).ToList());
        var named = NamedNodes(net);
        bool SoleUse(CNode n) => consumers.TryGetValue(n, out var users) && users.Count == 1;
        foreach (var c in list)
        {
            if (c.Layer is not IActivationLayer act || c.Inputs.Length != 1) continue;
            var p = c.Inputs[0];
            var producer = p.Layer is { IsView: true } && SoleUse(p) && !named.Contains(c.Source) ? p.Inputs[0] : p;
            if (producer.Layer is not IFusableProducer || producer.Fused != Activation.None || named.Contains(producer.Source)) continue;
            if (!SoleUse(producer)) continue;
            producer.Fused = act.Activation;
            producer.FusedSlope = act.Slope;
            // The activation's readers read its input: the producer, or the view of its output.
            replaced[c] = p;
        }
        if (replaced.Count == 0) return list;
        foreach (var c in list)
            for (int i = 0; i < c.Inputs.Length; i++)
                if (replaced.TryGetValue(c.Inputs[i], out var p)) c.Inputs[i] = p;
        // A fused activation that was a named output is now computed (and named) by its producer.
        return list.Where(c => !replaced.ContainsKey(c)).ToList();
    }

    /// <summary>
    /// The MLP fusion pass (after activations are folded): a chain of Linear layers (each one's output, with its
    /// activation, used only by the next, none of them a named output but the last) whose widths fit
    /// <see cref="FusedMlp.CanFuse"/> (and that the device prefers fused, or the options ask for it) becomes one <see cref="FusedMlp"/> node computing the last one's output.
    /// </summary>
    static List<CNode> FuseMlps(List<CNode> list, Network net, Dictionary<CNode, CNode> replaced, Func<IReadOnlyList<FusedMlp.Member>, bool> wanted)
    {
        var consumers = list.SelectMany(c => c.Inputs.Select(i => (Producer: i, Consumer: c)))
            .GroupBy(x => x.Producer).ToDictionary(g => g.Key, g => g.Select(x => x.Consumer).ToList());
        var named = NamedNodes(net);
        var removed = new HashSet<CNode>();
        var claimed = new HashSet<CNode>();
        bool Link(CNode c) => c.Layer is Linear && c.Replacement == null && c.Inputs.Length == 1 && !claimed.Contains(c);
        foreach (var start in list)
        {
            if (!Link(start)) continue; // list is in topological order: the first unclaimed linear of a chain comes first
            var chain = new List<CNode> { start };
            while (chain.Count < FusedMlp.MaxLayers && !Named(chain[^1], named, replaced)
                && consumers.TryGetValue(chain[^1], out var users) && users.Count == 1 && Link(users[0]))
                chain.Add(users[0]);
            var members = chain.Select(c => new FusedMlp.Member(c.Name, (Linear)c.Layer!, c.Fused, c.FusedSlope)).ToList();
            while (members.Count >= 2 && !FusedMlp.CanFuse(members)) { members.RemoveAt(members.Count - 1); chain.RemoveAt(chain.Count - 1); }
            if (members.Count < 2 || !wanted(members)) continue;
            claimed.UnionWith(chain);
            var last = chain[^1];
            last.Replacement = new FusedMlp(members);
            last.Fused = Activation.None;
            last.Inputs = start.Inputs;
            foreach (var c in chain.Take(chain.Count - 1)) { removed.Add(c); replaced[c] = last; }
        }
        if (removed.Count == 0) return list;
        // Activations folded into a member now point at the fused node too.
        foreach (var (k, v) in replaced.ToList()) if (removed.Contains(v)) replaced[k] = replaced[v];
        return list.Where(c => !removed.Contains(c)).ToList();
    }

    /// <summary>
    /// The upsample-concat fusion pass: a Concat input that is an Upsample used only there (once) and not a named output nor
    /// the loss is folded into the concat, which becomes an <see cref="UpsampleConcat"/> reading the upsample's input: it
    /// interpolates straight into its channel slice (and gathers the gradient from the slice), so the upsampled tensor is never
    /// materialised. The results are bit-identical to the unfused layers'.
    /// </summary>
    static List<CNode> FuseUpsampleConcats(List<CNode> list, Network net)
    {
        var uses = Uses(list);
        var named = NamedNodes(net);
        var removed = new HashSet<CNode>();
        foreach (var c in list)
        {
            if (c.Layer is not Concat concat || c.Replacement != null) continue;
            var ups = c.Inputs.Select(i => i.Layer is Upsample u && i.Replacement == null && i.Fused == Activation.None
                && !named.Contains(i.Source) && uses[i] == 1 ? u : null).ToArray();
            if (ups.All(u => u == null)) continue;
            c.Replacement = new UpsampleConcat(concat, ups);
            removed.UnionWith(c.Inputs.Where((_, n) => ups[n] != null));
            c.Inputs = c.Inputs.Select((i, n) => ups[n] != null ? i.Inputs[0] : i).ToArray();
        }
        return removed.Count == 0 ? list : list.Where(c => !removed.Contains(c)).ToList();
    }

    /// <summary>How many compiled nodes read each node's output.</summary>
    static Dictionary<CNode, int> Uses(List<CNode> list) => list.SelectMany(c => c.Inputs).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>The network's named nodes: its outputs, its loss, and the node a given gradient seeds and that gradient.</summary>
    static HashSet<Node> NamedNodes(Network net) => net.Outputs.Select(o => o.Node).Append(net.Loss)
        .Concat(net.OutputGradient is { } g ? new[] { g.Output, g.Gradient } : Array.Empty<Node>()).OfType<Node>().ToHashSet();

    /// <summary>
    /// Whether <paramref name="c"/>'s output goes to one reader alone: read once, and no one's named value, neither its own
    /// nor that of an activation folded into it (<paramref name="fusedInto"/>), so a fusion may keep it from being written.
    /// </summary>
    static bool SoleReader(CNode c, Dictionary<CNode, int> uses, HashSet<Node> named, Dictionary<CNode, CNode> fusedInto) =>
        uses[c] == 1 && !Named(c, named, fusedInto);

    /// <summary>Whether <paramref name="c"/>'s output is a named value: its own, or that of an activation folded into it.</summary>
    static bool Named(CNode c, HashSet<Node> named, Dictionary<CNode, CNode> fusedInto) =>
        named.Contains(c.Source) || fusedInto.Any(kv => kv.Value == c && named.Contains(kv.Key.Source));

    /// <summary>
    /// In an inference plan, a 2x2, stride-2 MaxPool2d whose input is a Conv2d (with its folded activation) used nowhere
    /// else, neither a named output nor the loss (<paramref name="fusedInto"/> tells which activations were folded into
    /// which conv), becomes a <see cref="ConvPool2d"/>: the convolution's kernel takes the
    /// maxima, and its unpooled output is not written where that kernel can (see there).
    /// </summary>
    static List<CNode> FuseConvPools(List<CNode> list, Network net, Dictionary<CNode, CNode> fusedInto)
    {
        var uses = Uses(list);
        var named = NamedNodes(net);
        var removed = new HashSet<CNode>();
        foreach (var c in list)
        {
            if (c.Layer is not MaxPool2d pool || c.Replacement != null || c.Fused != Activation.None || pool.KernelSize != (2, 2) || pool.Stride != (2, 2))
                continue;
            var src = c.Inputs[0];
            if (src.Layer is not Conv2d conv || src.Replacement != null || !SoleReader(src, uses, named, fusedInto)) continue;
            c.Replacement = new ConvPool2d(conv, src.Name, src.Fused, src.FusedSlope, pool);
            c.Inputs = src.Inputs;
            removed.Add(src);
        }
        return removed.Count == 0 ? list : list.Where(c => !removed.Contains(c)).ToList();
    }

    /// <summary>
    /// A 2x2, stride-2 MaxPool2d (no activation folded into it) that reads a Conv2d's output which
    /// <see cref="FuseConvPools"/> left to be written, because something else reads it too (a UNet encoder's skip) or because
    /// the plan trains (the pool's and the activation's gradients read it), is offered to that convolution's forward
    /// (<see cref="ForwardPass.Pool"/>): where the kernel the convolution runs has a ".pool.keep" variant, it writes both
    /// outputs in one pass and the pool emits nothing (<see cref="ConvForward.EmitWithPool"/>); elsewhere the pool runs on
    /// its own. Its gradient is the pool's, as before: it reads the same values.
    /// </summary>
    static void OfferPools(List<CNode> list)
    {
        foreach (var c in list)
        {
            if (c.Layer is not MaxPool2d pool || c.Replacement != null || c.Fused != Activation.None || pool.KernelSize != (2, 2) || pool.Stride != (2, 2))
                continue;
            var src = c.Inputs[0];
            if (src.Layer is Conv2d && src.Replacement == null && src.PoolReader == null) src.PoolReader = c;
        }
    }

    /// <summary>
    /// Replaces each pair of stride-1 convolutions with "same" padding along the rows, the second the only reader of the
    /// first's output (no one's named value, nor that of an activation folded into it), by the pair in row bands
    /// (<see cref="RowBandedConvs"/>) where <see cref="CompileOptions.RowBands"/> asks for it: by default where the first's
    /// output takes at least <see cref="CompileOptions.RowBandMinBytes"/> at the plan's activation type, in 8 bands.
    /// Only where a band's window (its rows and the halo) is smaller than the image.
    /// </summary>
    static List<CNode> BandConvPairs(List<CNode> list, Network net, Dictionary<CNode, CNode> fusedInto, CompileOptions options)
    {
        if (options.RowBands is <= 1) return list;
        var uses = Uses(list);
        var named = NamedNodes(net);
        int elementBytes = options.Precision == Precision.Fp16 ? 2 : 4;
        var removed = new HashSet<CNode>();
        foreach (var c in list)
        {
            if (c.Layer is not Conv2d second || c.Replacement != null || !RowBandedConvs.Bandable(second.Attributes)) continue;
            var src = c.Inputs[0];
            if (src.Layer is not Conv2d first || src.Replacement != null || removed.Contains(src) || !RowBandedConvs.Bandable(first.Attributes)
                || !SoleReader(src, uses, named, fusedInto))
                continue;
            if (options.RowBands == null && src.Shape.Elements * elementBytes < options.RowBandMinBytes) continue;
            int rows = src.Shape[2], bands = options.RowBands ?? 8, bandRows = (rows + bands - 1) / bands;
            int halo = first.Attributes.Padding.H + second.Attributes.Padding.H;
            if (RowBandedConvs.WindowRows(rows, bandRows, halo) >= rows) continue;
            c.Replacement = new RowBandedConvs(first, src.Name, src.Fused, src.FusedSlope, second, c.Name, bandRows);
            c.Inputs = src.Inputs;
            removed.Add(src);
        }
        return removed.Count == 0 ? list : list.Where(c => !removed.Contains(c)).ToList();
    }

    /// <summary>
    /// A Conv2d (groups 1) that reads a concatenation of two inputs (a Concat, or an UpsampleConcat whose upsamples are
    /// nearest-neighbour) used nowhere else becomes a <see cref="ConcatConv2d"/> reading both inputs itself: the
    /// concatenation is not written in the forward pass where its kernel can read them (see there).
    /// </summary>
    static List<CNode> FuseConcatConvs(List<CNode> list, Network net)
    {
        var uses = Uses(list);
        var named = NamedNodes(net);
        var removed = new HashSet<CNode>();
        foreach (var c in list)
        {
            if (c.Layer is not Conv2d conv || c.Replacement != null || conv.Attributes.Groups != 1) continue;
            var cat = c.Inputs[0];
            if (cat.Inputs.Length != 2 || cat.Fused != Activation.None || named.Contains(cat.Source) || uses[cat] != 1) continue;
            var (concat, ups) = cat.Layer switch
            {
                Concat plain when cat.Replacement == null => (plain, new Upsample?[2]),
                UpsampleConcat uc when uc.Upsamples.All(u => u == null || u.Mode == UpsampleMode.Nearest) => (uc.Concat, uc.Upsamples),
                _ => (null, null),
            };
            if (concat == null || ups == null) continue;
            c.Replacement = new ConcatConv2d(conv, c.Name, concat, ups);
            c.Inputs = cat.Inputs;
            removed.Add(cat);
        }
        return removed.Count == 0 ? list : list.Where(c => !removed.Contains(c)).ToList();
    }

    /// <summary>
    /// The backward pass; <paramref name="inputGrads"/> names the inputs whose gradients are wanted (null: none). The
    /// gradient rules run last layer first. Each runs in <paramref name="layoutOf"/>'s layout for its node (NHWC where the
    /// plan is channels-last and the rule takes NHWC values, <see cref="Layer.BackwardsNhwc"/>): its forward values and
    /// dY are handed to it in that layout (<see cref="Emitter.InLayout"/>: a forward value's transpose made for the
    /// forward is reused) and it writes its input gradients in it; a value's gradient contributions are summed in the
    /// layout of the rule that reads them, and a fused activation's gradient is taken in its output's layout.
    /// </summary>
    static void Backward(List<CNode> list, CNode? lossNode, (CNode Output, Value Gradient)? seeded, Emitter emitter, List<(Value, Value)> paramGrads,
        IReadOnlyCollection<string>? inputGrads, bool lossScaling, Func<CNode, TensorLayout> layoutOf, bool fuse)
    {
        foreach (var c in list)
            c.NeedsGrad = c.Layer == null ? inputGrads?.Contains(c.Name) == true : c.Layer.Parameters.Any(p => p.Trainable) || c.Inputs.Any(i => i.NeedsGrad);
        emitter.Phase = "backward";
        if (lossNode != null)
        {
            var seed = emitter.NewValue(lossNode.Shape, ValueKind.Transient, "loss.grad");
            if (lossScaling)
                emitter.Dispatch(new KernelSpec("optim/loss_seed", KernelSpec.Buffers(2), 0, Array.Empty<uint>(), 1), (1, 1, 1), Array.Empty<byte>(),
                    "loss.grad_seed", Arg.State, Arg.Out(seed));
            else emitter.Fill(seed, 1f, "loss.grad_seed");
            lossNode.GradContributions.Add(seed);
        }
        // A given output gradient is the output's first gradient part as it is (in the activations' type: an input's
        // conversion pass made it so), read where the output's gradient rule reads its gradient.
        else if (seeded is { } given) given.Output.GradContributions.Add(given.Gradient);
        // A layer's fused activation whose output has one or two readers: the last reader's gradient rule to run may take
        // the activation's gradient, with the other's part added, in the kernel that writes its input's gradient
        // (ActivationGradient; where that reader is a max pool, the conv reading the pool may take both, PoolGradient);
        // what it wrote is then the whole gradient before the activation.
        var uses = Uses(list);
        var activated = new HashSet<Value>();

        for (int k = list.Count - 1; k >= 0; k--)
        {
            var c = list[k];
            if (c.Layer == null || !c.NeedsGrad || c.GradContributions.Count == 0) continue;
            var layout = layoutOf(c);
            TensorLayout? LayoutFor(Shape s) => s.Rank == 4 ? layout : null;
            Value grad;
            if (c.Fused != Activation.None && activated.Contains(c.GradContributions[^1])) grad = c.GradContributions[^1];
            else if (c.Fused != Activation.None)
            {
                // The activation's gradient takes the last two parts of the sum in its own pass, in its output's layout.
                var parts = c.GradContributions;
                var at = c.Output.Layout;
                var head = Sum(emitter, parts.Take(Math.Max(1, parts.Count - 1)).ToList(), $"{c.Name}.grad", at);
                grad = emitter.NewValue(c.Shape, ValueKind.Transient, $"{c.Name}.grad_pre_act", head.ElementType, at);
                emitter.UnaryBackward(c.Fused, c.FusedSlope, c.Output, head, grad, $"{c.Name}.act.bwd",
                    parts.Count > 1 ? emitter.InLayout(parts[^1], at) : null);
            }
            else grad = Sum(emitter, c.GradContributions, $"{c.Name}.grad", LayoutFor(c.Shape));
            grad = emitter.InLayout(grad, layout);
            var gradInputs = c.Inputs.Select((i, n) => i.NeedsGrad
                ? emitter.NewValue(i.Shape, ValueKind.Transient, $"{c.Name}.grad_in{n}", i.Output.ElementType, LayoutFor(i.Shape))
                : null).ToArray();
            foreach (var (name, p) in c.Params)
            {
                if (!c.Layer.Parameters.First(ps => ps.Name == name).Trainable) continue;
                var g = emitter.NewValue(p.Shape, ValueKind.ParameterGradient, $"{p.Name}.grad");
                c.ParamGrads[name] = g;
                paramGrads.Add((p, g));
            }
            var inputs = c.Inputs.Select(i => emitter.InLayout(i.Output, layout)).ToArray();
            var pass = new BackwardPass(emitter, inputs, emitter.InLayout(c.Output, layout), grad, gradInputs, c.Params, c.ParamGrads, c.Name);
            for (int n = 0; n < c.Inputs.Length; n++)
                if (gradInputs[n] != null)
                {
                    pass.InputActivations[n] = ActivationOf(c.Inputs[n], uses, layout, emitter);
                    // A convolution's input gradient may take the pool before it (Conv2dBackward).
                    if (fuse && c.Layer is Conv2d) pass.InputPools[n] = OfferPoolGradient(c.Inputs[n], uses, layout, layoutOf, emitter);
                }
            c.Layer.Backward(pass);
            for (int n = 0; n < c.Inputs.Length; n++)
                if (pass.PooledGradInputs[n] && pass.InputPools[n] is { } pool)
                {
                    // The pool's input gradient, written by this rule's kernel: the pool's own rule has nothing to run.
                    c.Inputs[n].Inputs[0].GradContributions.Add(pool.Gradient);
                    if (pool.Through != null) activated.Add(pool.Gradient);
                }
                else if (pass.GradInputs[n] is { } g)
                {
                    c.Inputs[n].GradContributions.Add(g);
                    // A view passes its gradient on as it is: through the activation before it where its reader took that.
                    if (pass.ActivatedGradInputs[n] || c.Layer.IsView && activated.Contains(grad)) activated.Add(g);
                }
        }
    }

    /// <summary>
    /// The activation fused into <paramref name="i"/> (the layer before a rule's input) whose gradient that rule may take
    /// (<see cref="ActivationGradient"/>), in <paramref name="layout"/>: where the rule is the last of i's one or two
    /// readers to run, the other's gradient its addend. Where i is a view (Flatten, Reshape) that the rule alone reads, of
    /// a layer's output that the view alone reads, in its own layout: that layer's activation, its output seen in i's
    /// shape (the view's gradient rule then passes the gradient on as it is: <see cref="Backward"/>). Else null.
    /// </summary>
    static ActivationGradient? ActivationOf(CNode i, Dictionary<CNode, int> uses, TensorLayout layout, Emitter emitter)
    {
        if (i is { Layer.IsView: true } && uses[i] == 1 && i.GradContributions.Count == 0 && (i.Shape.Rank != 4 || layout == TensorLayout.Nchw)
            && i.Inputs[0] is { Layer: not null, Fused: not Activation.None } q && uses[q] == 1 && q.GradContributions.Count == 0)
            return new ActivationGradient(q.Fused, q.FusedSlope, i.Output);
        return i is { Layer: not null, Fused: not Activation.None } && uses[i] <= 2 && i.GradContributions.Count == uses[i] - 1
            ? new ActivationGradient(i.Fused, i.FusedSlope, emitter.InLayout(i.Output, layout),
                i.GradContributions.SingleOrDefault() is { } addend ? emitter.InLayout(addend, layout) : null)
            : null;
    }

    /// <summary>
    /// The gradient of the max pool <paramref name="p"/> offered to the rule of its one reader (<see cref="PoolGradient"/>),
    /// run in <paramref name="layout"/>: where p is a 2x2, stride-2 MaxPool2d over an even height and width whose own rule
    /// would run in that layout, on an input in it, with no gradient of its own yet (not a seeded output). It carries what p's rule would
    /// have: p's input, a value for p's input gradient, and the activation of the layer before p as that rule would be
    /// offered it. Null elsewhere, and where that activation's gradient could be taken only by p's own rule.
    /// </summary>
    static PoolGradient? OfferPoolGradient(CNode p, Dictionary<CNode, int> uses, TensorLayout layout, Func<CNode, TensorLayout> layoutOf, Emitter emitter)
    {
        if (p.Layer is not MaxPool2d { KernelSize: (2, 2), Stride: (2, 2) } || p.Fused != Activation.None || uses[p] != 1
            || p.GradContributions.Count != 0 || layoutOf(p) != layout)
            return null;
        var q = p.Inputs[0];
        if (q.Shape.Rank != 4 || q.Shape[2] % 2 != 0 || q.Shape[3] % 2 != 0 || q.Output.Layout != layout) return null;
        // Where q's activation could be taken but q's other reader has yet to give its part (it runs between the pool and
        // this rule: the pool is also an output), the pool's own rule, run later, takes both: no offer.
        var through = ActivationOf(q, uses, layout, emitter);
        if (through == null && q is { Layer: not null, Fused: not Activation.None } && uses[q] <= 2) return null;
        var dx = emitter.NewValue(q.Shape, ValueKind.Transient, $"{p.Name}.grad_in0", q.Output.ElementType, layout);
        return new PoolGradient(emitter.InLayout(q.Output, layout), dx, through, p.Name);
    }

    /// <summary>
    /// Sums gradient contributions when a value feeds several layers (a skip connection's source), in
    /// <paramref name="layout"/> (a 4-D value's; null: the first part's), a part in the other layout transposed.
    /// </summary>
    static Value Sum(Emitter emitter, List<Value> parts, string name, TensorLayout? layout = null)
    {
        var at = layout ?? parts[0].Layout;
        var acc = emitter.InLayout(parts[0], at);
        for (int i = 1; i < parts.Count; i++)
        {
            var next = emitter.NewValue(acc.Shape, ValueKind.Transient, $"{name}_sum{i}", acc.ElementType, at);
            emitter.AddScaled(acc, 1f, emitter.InLayout(parts[i], at), 1f, next, $"{name}.sum{i}");
            acc = next;
        }
        return acc;
    }
}

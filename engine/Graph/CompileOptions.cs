namespace Kiln;

/// <summary>How <see cref="Network.Compile"/> builds a network.</summary>
public sealed record CompileOptions
{
    /// <summary>Shape of each named input.</summary>
    public IReadOnlyDictionary<string, Shape> InputShapes { get; init; } = new Dictionary<string, Shape>();
    /// <summary>Also build the backward pass, from the loss (<see cref="Network.SetLoss"/>) or from a given output gradient
    /// (<see cref="Network.SetOutputGradient"/>), and the optimizer's update of every parameter (see
    /// <see cref="UpdateParameters"/>).</summary>
    public bool Training { get; init; }
    /// <summary>
    /// With <see cref="Training"/>: end the step with the optimizer's update of the parameters (true, the default). False
    /// ends it with the gradients (<see cref="CompiledNetwork.Gradients"/>, and the input gradients where asked), the
    /// parameters left as they are: no learning-rate schedule, clipping, loss scaling or optimizer runs (the step counter,
    /// which random layers read, still advances). A gradient computation, as PyTorch's autograd.grad is.
    /// </summary>
    public bool UpdateParameters { get; init; } = true;
    /// <summary>How parameters are updated from their gradients when training: <see cref="Sgd"/> (default), <see cref="Adam"/>, <see cref="AdamW"/>.</summary>
    public Optimizer Optimizer { get; init; } = new Sgd();
    /// <summary>Base learning rate; it lives in the step-state buffer, changeable without re-recording (<see cref="CompiledNetwork.LearningRate"/>).</summary>
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>Learning rate per step from the base rate, computed on the GPU from the step counter.</summary>
    public LearningRateSchedule Schedule { get; init; } = new ConstantSchedule();
    /// <summary>Clip the gradients to this global L2 norm before the update (torch.nn.utils.clip_grad_norm_); null: no clipping.</summary>
    public float? ClipGradientNorm { get; init; }
    /// <summary>L1 regularisation (TensorFlow Playground): L1 * sign(w) added to each gradient, biases excepted.</summary>
    public float L1 { get; init; }
    /// <summary>L2 regularisation (TensorFlow Playground): L2 * w added to each gradient, biases excepted.</summary>
    public float L2 { get; init; }
    /// <summary>Seed of parameter initialisation (and of random layers): the same seed gives the same run.</summary>
    public int Seed { get; init; }
    /// <summary>Also keep the gradient of the loss (or, from a given output gradient, of sum(output * gradient):
    /// <see cref="Network.SetOutputGradient"/>) with respect to each input (CompiledNetwork.InputGradients): for checks
    /// and saliency.</summary>
    public bool InputGradients { get; init; }
    /// <summary>
    /// With <see cref="InputGradients"/>, the inputs whose gradients are computed and kept, by name, as PyTorch computes
    /// gradients only for the tensors that require them: a loss's target or a mask then costs no backward pass. Null:
    /// every input's.
    /// </summary>
    public IReadOnlyCollection<string>? InputGradientNames { get; init; }
    /// <summary>
    /// Under <see cref="Precision.Fp16"/>, the inputs, the named outputs and the input gradients are f16 too, as the
    /// activations are, so a step has no conversion pass at its edges (the loss stays f32). The host's f32 values are
    /// rounded to f16 on the CPU as <see cref="CompiledNetwork.SetInput"/> uploads them (round to nearest even, as the
    /// GPU's conversion rounds) and widened as <see cref="CompiledNetwork.GetOutput"/> and <see cref="Tensor.ToArray"/>
    /// read them; a GPU producer writing <see cref="CompiledNetwork.Inputs"/> writes f16. Off by default (f32 at the
    /// edges); no effect at Fp32.
    /// </summary>
    public bool F16InputsAndOutputs { get; init; }
    /// <summary>
    /// Input buffer sets, 1 or 2. With 2, every input has two tensors (<see cref="CompiledNetwork.InputsOf"/>) and a
    /// step can run on either, so the next batch uploads (<see cref="Tensor.UploadAsync"/>) while the current step runs.
    /// </summary>
    public int InputBuffers { get; init; } = 1;
    /// <summary>Fold activations into the conv or linear producing their input.</summary>
    public bool Fuse { get; init; } = true;
    /// <summary>With <see cref="Fuse"/>: replace chains of small Linear layers by one fused MLP (shaders/mlp). Null
    /// (the default) lets the device decide (always on a GPU; on a CPU device such as lavapipe only for widths
    /// &lt;= 16, where the plain kernels measured faster above that, and wherever <see cref="PreferKernels"/> names a fused
    /// MLP entry), and where the kernels are tuned (<see cref="Autotune"/>) times the step with the fused MLP and with its
    /// layers one by one and keeps the faster plan, remembered with the tuning choices (Graph.PlanChoices); true
    /// fuses whatever fits; false never.</summary>
    public bool? FuseMlp { get; init; }
    /// <summary>
    /// With <see cref="Fuse"/>, in inference plans: bands of output rows in which a pair of stride-1 convolutions runs
    /// where the second is the only reader of the first's output (<see cref="Layers.RowBandedConvs"/>), so that output
    /// is never whole: memory for a few band-sized scratch tensors in place of a full-size one, for a copy of each band's
    /// input rows and halo. Null (the default): 8 bands wherever the first's output takes at least
    /// <see cref="RowBandMinBytes"/> (a UNet's full-resolution layers on large frames), and where the kernels are tuned
    /// (<see cref="Autotune"/>) the step is timed banded and whole and the faster plan kept, remembered with the tuning
    /// choices (on an H200 the 1920x1088 fp16 denoiser ran 12.86 ms banded, 11.81 whole); a number: that many bands for
    /// every such pair, whatever its size; 0 or 1: none.
    /// </summary>
    public int? RowBands { get; init; }
    /// <summary>
    /// A UNet decoder's 3x3 convolution (stride 1, padding 1) over the concatenation of a tensor upsampled 2x by nearest
    /// neighbour and another computes by sub-pixel phase, the upsampled channels through 2x2 taps at their own resolution
    /// (4/9 of their products): its gradients always (<see cref="Layers.SubPixelGradients"/>), its forward where the tuner
    /// picks a sub-pixel kernel or one is named (<see cref="PreferKernels"/>). True by default; false keeps the 3x3 form
    /// everywhere (the .concat kernels, the concatenation's gradient split): for comparisons (`kiln bench --subpixel off`).
    /// </summary>
    public bool SubPixelDecoders { get; init; } = true;
    /// <summary>The default of <see cref="RowBandMinBytes"/>: 64 MiB.</summary>
    public const long AutomaticRowBandBytes = 64L << 20;
    /// <summary>The size of a convolution's output from which <see cref="RowBands"/> (null) bands it and the next: a host
    /// short of memory may band smaller layers. Default <see cref="AutomaticRowBandBytes"/>.</summary>
    public long RowBandMinBytes { get; init; } = AutomaticRowBandBytes;
    /// <summary>
    /// How a plan stores its 4-D activations: <see cref="TensorLayout.Nchw"/>, or <see cref="TensorLayout.Nhwc"/>,
    /// channels contiguous, which the tensor-core convolutions stage as runs of a pixel's channels. Under Nhwc, the layers
    /// with a channels-last forward (<see cref="Layer.ForwardsNhwc"/>: convolutions and their fused forms, pooling,
    /// nearest or bilinear upsampling, concatenation, batch norm, pointwise layers) run on NHWC values; before any other
    /// layer a value is transposed to NCHW, once. Inputs and outputs stay f32 NCHW for the caller, each edge one pass (the
    /// plan shows each "to_nhwc" / "to_nchw" step). In a training plan each gradient rule likewise runs channels-last where
    /// its forward did and it has an NHWC form (<see cref="Layer.BackwardsNhwc"/>: convolutions and transposed
    /// convolutions of any stride, a decoder's fused one (stride 1), pooling, upsampling, concatenation, batch norm,
    /// pointwise layers, and the MSE, L1, Huber, BCE-with-logits and masked losses where their prediction is NHWC), and reads
    /// NCHW transposes otherwise (the softmax cross-entropy loss).
    /// Null (the default) chooses where that is faster: a plan compiled with tuned kernels (<see cref="Autotune"/>,
    /// on by default on a GPU) is compiled in both layouts, each with its kernels tuned, and the one whose whole step
    /// replays faster is kept (<see cref="Graph.ActivationLayouts"/>; remembered with the tuning choices, so later compiles of the
    /// network skip the timing); otherwise NCHW. <see cref="CompiledNetwork.ActivationLayout"/> tells which.
    /// </summary>
    public TensorLayout? ActivationLayout { get; init; }
    /// <summary>Precision (<see cref="Kiln.Precision"/>): strict f32 by default; <see cref="Precision.Fp16"/> stores
    /// activations as f16 and lets kernels with an fp16 path (cooperative-matrix convolutions on a GPU) use it.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>
    /// Kernel entries, by class name (e.g. "Conv2dDirect"), chosen ahead of the registry's priorities wherever they
    /// support the device, the precision and the shape: for tests, <c>kiln selftest</c> and benchmarks that compare
    /// variants. An entry that can't run a layer falls back to the registry's choice. "Entry:candidate" (e.g.
    /// "Conv2dCoopMatPatch:patch1x4r4m4", a tile name as the tuner's file and trace show them) names the entry and, untuned,
    /// that candidate of it wherever the layer has one (else its default): the convolution kernels' candidates (forward,
    /// input and weight gradients); elsewhere it names the entry alone.
    /// </summary>
    public IReadOnlyList<string> PreferKernels { get; init; } = Array.Empty<string>();
    /// <summary>
    /// Whether the convolution and linear kernels read their large inputs through texel-buffer views (and small conv
    /// weights from uniform buffers) instead of storage buffers. Null (the default) lets the device decide: on a CPU
    /// device (lavapipe), where a storage-buffer read is a loop over the SIMD lanes and a texel fetch a branch-free gather,
    /// yes (the fashion-ae training step took a third less time); on a GPU, no. False keeps the storage-buffer kernels
    /// that GPUs run (tests cover them on lavapipe this way).
    /// </summary>
    public bool? TexelReads { get; init; }
    /// <summary>
    /// Time the tile sizes of kernels that have several (the direct convolution's output channels and columns per
    /// invocation) on this device for each layer's shape, and use the fastest; choices are kept in a file beside the
    /// pipeline cache (ContextOptions.PipelineCacheDirectory), so a shape is timed once per device and driver. Null (the
    /// default) lets the device decide: on a GPU, where the best tile differs by shape, yes; on a CPU device, no (the
    /// defaults were tuned there). Results do not depend on the choice: tiles change no sum's order.
    /// </summary>
    public bool? Autotune { get; init; }

    /// <summary>
    /// Loss scaling of training steps (<see cref="Kiln.LossScaling"/>). Null (the default): dynamic scaling from 2^16 when
    /// training under <see cref="Precision.Fp16"/>, whose activation gradients are f16, and none under Fp32, nor where
    /// nothing would undo it: a step that starts from a given output gradient (<see cref="Network.SetOutputGradient"/>)
    /// or updates no parameters (<see cref="UpdateParameters"/> false); asking for it there is an error.
    /// <see cref="LossScaling.Off"/> turns it off. Parameter gradients (<see cref="CompiledNetwork.Gradients"/>) hold
    /// the scaled values; the update divides by the scale.
    /// </summary>
    public LossScaling? LossScaling { get; init; }

    public static CompileOptions For(string input, Shape shape, bool training = false) =>
        new() { InputShapes = new Dictionary<string, Shape> { [input] = shape }, Training = training };
}

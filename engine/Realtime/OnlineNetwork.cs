using Kiln.Vulkan;
using Kiln.Training;

namespace Kiln.Realtime;

/// <summary>
/// A network trained online inside the frame loop: a compiled training network (forward, backward, update) and a
/// compiled inference network with the same parameters. After a frame's training steps the updated parameters
/// are copied, on the GPU and in the same command list, into the inference network, so the frame's inference
/// uses them. Nothing is read back except the loss, by the loop.
/// </summary>
internal sealed class OnlineNetwork : IDisposable
{
    public CompiledNetwork Train { get; }
    public CompiledNetwork Infer { get; }

    public OnlineNetwork(GpuContext context, Network inference, Network training, CompileOptions inferOptions, CompileOptions trainOptions)
    {
        if (!trainOptions.Training) throw new ArgumentException("The training network's options must have Training set.", nameof(trainOptions));
        Train = training.Compile(context, trainOptions);
        try
        {
            Infer = inference.Compile(context, inferOptions with { Training = false, Seed = trainOptions.Seed });
            foreach (var (name, t) in Infer.Parameters)
            {
                if (!Train.Parameters.TryGetValue(name, out var p))
                    throw new KilnException($"Online network: parameter '{name}' of the inference network is not in the training network.");
                if (p.Shape != t.Shape) throw new KilnException($"Online network: parameter '{name}' is {p.Shape} for training and {t.Shape} for inference.");
            }
        }
        catch
        {
            Train.Dispose();
            throw;
        }
        // Same seed, same names: the initial parameters already agree; copy anyway so it holds for any initializer.
        foreach (var (name, t) in Infer.Parameters) t.Upload(Train.Parameters[name].ToArray());
    }

    /// <summary>
    /// An image-to-image network trained with Adam: inference on input "x" of <paramref name="input"/>'s shape; training
    /// on "x" of <paramref name="trainingInput"/>'s shape (by default the same: the whole frame; a batch of crops
    /// otherwise) against "target" of <paramref name="targetChannels"/> channels at the training input's size. Both
    /// networks are compiled at <paramref name="precision"/> (f16 activations under Fp16, with loss scaling for training)
    /// and with <paramref name="layout"/>'s activations (null: each compile chooses, <see cref="CompileOptions.ActivationLayout"/>).
    /// </summary>
    public static OnlineNetwork ForImages(GpuContext context, Network inference, Network training, Shape input, int targetChannels, float learningRate, int seed,
        Shape? trainingInput = null, Precision precision = Precision.Fp32, TensorLayout? layout = null)
    {
        var trainX = trainingInput ?? input;
        var (n, _, h, w) = trainX.Nchw;
        return new OnlineNetwork(context, inference, training, CompileOptions.For("x", input) with { Precision = precision, ActivationLayout = layout }, new CompileOptions
        {
            Precision = precision,
            ActivationLayout = layout,
            InputShapes = new Dictionary<string, Shape> { ["x"] = trainX, ["target"] = new Shape(n, targetChannels, h, w) },
            Training = true,
            Optimizer = new Adam(),
            LearningRate = learningRate,
            Seed = seed,
        });
    }

    /// <summary>
    /// Loads the parameters of <paramref name="checkpoint"/> (F32 or F16; optimizer state in it is ignored) into the
    /// training and the inference network, and scales the online learning rate by <paramref name="learningRateFactor"/>
    /// (fine-tuning a trained network wants smaller steps than training from random weights). Every name and shape is checked first: a file that doesn't fit throws a
    /// <see cref="KilnException"/> naming the file and the mismatching tensors, and leaves the parameters as they were.
    /// </summary>
    public void Load(Checkpoint checkpoint, float learningRateFactor = PretrainedLearningRateFactor)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!(learningRateFactor > 0) || !float.IsFinite(learningRateFactor)) throw new ArgumentOutOfRangeException(nameof(learningRateFactor), learningRateFactor, "The factor must be positive.");
        checkpoint.LoadInto(Train);
        foreach (var (name, t) in Infer.Parameters) t.Upload(Train.Parameters[name].ToArray());
        Train.LearningRate *= learningRateFactor;
    }

    /// <summary>
    /// What <see cref="Load"/> multiplies the online learning rate by: Adam's first steps move every parameter by about
    /// the rate whatever its gradient, which at a rate meant for random weights undoes a trained start within a few frames.
    /// </summary>
    public const float PretrainedLearningRateFactor = 0.1f;

    /// <summary>
    /// Records <paramref name="steps"/> training steps, the last loss into scalar <paramref name="lossSlot"/>, then the
    /// parameter copy. <paramref name="beforeStep"/>, when given, records step s's inputs (e.g. fresh crops) before it,
    /// after the previous step (which read them) and followed by a barrier.
    /// </summary>
    public void RecordTraining(Frame frame, int steps, int lossSlot, Action<int>? beforeStep = null)
    {
        if (steps <= 0) return;
        for (int s = 0; s < steps; s++)
        {
            if (s > 0) frame.Recorder.Barrier(BarrierKind.ComputeToCompute);
            if (beforeStep != null)
            {
                beforeStep(s);
                frame.Recorder.Barrier(BarrierKind.ComputeToCompute);
            }
            Train.Record(frame.List);
        }
        frame.CopyScalar(Train.Outputs["loss"], 0, lossSlot);
        frame.Recorder.Barrier(BarrierKind.ComputeToTransfer);
        foreach (var (name, t) in Infer.Parameters)
            frame.Recorder.Copy(Train.Parameters[name].Storage, t.Storage, (ulong)t.SizeInBytes);
        frame.Recorder.Barrier(BarrierKind.TransferToCompute);
    }

    public void Dispose()
    {
        Infer?.Dispose();
        Train.Dispose();
    }
}

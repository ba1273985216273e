using System.Globalization;
using Kiln.Cli.Viewer;
using Kiln.Realtime;

namespace Kiln.Cli;

/// <summary>
/// `kiln demo inpaint|denoise|playground [--frames N] [--out DIR] [--size WxH] [--steps K] [--no-train] [--fps F]
/// [--every N] [--serve PORT] [--images PATH] [--feedback] [--train-crop N] [--train-batch B] [--weights FILE|none]
/// [--precision fp32|fp16] [--layout nchw|nhwc]`: runs a real-time demo headless, writing PNG frames and stats.json, or (--serve) shows it
/// in the browser viewer at http://127.0.0.1:PORT until Ctrl+C (files then only with --out). --images (inpaint only) takes
/// the scene from an image file or a folder of images instead of the procedural scene. Headless runs also write
/// DEMO.mp4 (every frame) where ffmpeg is installed; --feedback (denoise only) feeds
/// the previous denoised frame back to the network; --train-crop N and --train-batch B (denoise only) make its online
/// training take B crops of N x N pixels a step (N a multiple of 16, 0 for the whole frame; by default 4 of 128, fewer
/// and smaller on a small frame, see DenoisingDemo.TrainingCropFor). The inpaint and denoise demos start from the weights shipped
/// beside the app (weights/, from demos/weights/make-weights.sh), or from the checkpoint --weights FILE, or from random
/// weights with --weights none (and with --feedback, which the shipped denoiser doesn't take).
/// </summary>
internal static class DemoCommand
{
    const int ServeChunk = 300;
    /// <summary>
    /// The kernel timing a demo's compile may do (unless KILN_TUNING_BUDGET says otherwise): a first run on a GPU times
    /// the kernels of every shape of the network and its training step, which had not finished after 40 s at 1280x720 on an H200, and
    /// a real-time demo should start sooner. Shapes past it run untuned and are timed by a later run.
    /// </summary>
    static readonly TimeSpan TuningBudget = TimeSpan.FromSeconds(15);

    public static int Run(string[] args)
    {
        if (args.Length == 0) return CliApp.Fail("demo: which demo? inpaint, denoise or playground");
        string name = args[0];
        int? frames = null, steps = null, serve = null, trainCrop = null, trainBatch = null;
        int every = 1;
        string? outDir = null, imagePath = null, weights = null;
        (int W, int H)? size = null;
        double? fps = null;
        bool train = true, feedback = false;
        var precision = Precision.Fp32;
        TensorLayout? layout = null;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"demo: {args[i]} needs a value");
            switch (args[i])
            {
                case "--frames": frames = PositiveInt(Next(), "--frames"); break;
                case "--out": outDir = Next(); break;
                case "--size": size = ParseSize(Next()); break;
                case "--steps": steps = int.TryParse(Next(), CultureInfo.InvariantCulture, out int k) ? k : throw new ArgumentException("demo: --steps must be an integer"); break;
                case "--serve": serve = int.TryParse(Next(), CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536 ? port : throw new ArgumentException("demo: --serve needs a port 1..65535"); break;
                case "--every": every = PositiveInt(Next(), "--every"); break;
                case "--fps": fps = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-train": train = false; break;
                case "--images": imagePath = Next(); break;
                case "--feedback": feedback = true; break;
                case "--train-crop": trainCrop = int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) && c >= 0 ? c
                    : throw new ArgumentException("demo: --train-crop needs a crop side in pixels (a multiple of 16), or 0 for the whole frame"); break;
                case "--train-batch": trainBatch = PositiveInt(Next(), "--train-batch"); break;
                case "--weights": weights = Next(); break;
                case "--precision": precision = CliApp.ParsePrecision("demo", Next()); break;
                case "--layout": layout = CliApp.ParseLayout("demo", Next()); break;
                default: return CliApp.Fail($"demo: unknown option '{args[i]}'");
            }
        }
        bool writeFiles = serve == null || outDir != null;
        outDir ??= Path.Combine("demo-out", name);
        if (imagePath != null && name != "inpaint") return CliApp.Fail("demo: --images applies to the inpaint demo only");
        if (feedback && name != "denoise") return CliApp.Fail("demo: --feedback applies to the denoise demo only");
        if ((trainCrop != null || trainBatch != null) && name != "denoise") return CliApp.Fail("demo: --train-crop and --train-batch apply to the denoise demo only");
        if (weights != null && name == "playground") return CliApp.Fail("demo: --weights applies to the inpaint and denoise demos only");
        if (precision != Precision.Fp32 && name == "playground") return CliApp.Fail("demo: --precision applies to the inpaint and denoise demos only");
        if (layout != null && name == "playground") return CliApp.Fail("demo: --layout applies to the inpaint and denoise demos only");
        using var context = GpuContext.Create();
        if (context.Tuner.Budget == null) context.Tuner.Budget = TuningBudget;
        if (!context.Info.IsCpu)
            Console.WriteLine($"{name}: compiling on {context.Info.Name} (shapes not yet tuned on this device are timed, " +
                              $"{context.Tuner.Budget!.Value.TotalSeconds:0.#} s at most; the choices are kept in {context.Tuner.FilePath ?? "memory only"})");
        using var images = imagePath != null ? ImageScene.Load(context, imagePath) : null;
        if (images != null) Console.WriteLine($"scene: {images.Files.Count} image(s) from {imagePath}, {images.SecondsPerImage:0.#} s each");
        using RealtimeDemo demo = name switch
        {
            "inpaint" => new InpaintingDemo(context, size?.W ?? 128, size?.H ?? 128, images: images, precision: precision, layout: layout),
            "denoise" => new DenoisingDemo(context, size?.W ?? 64, size?.H ?? 64, feedback: feedback, trainingCrop: trainCrop, trainingBatch: trainBatch, precision: precision,
                layout: layout),
            "playground" => new PlaygroundDemo(context, size?.W ?? 128, size?.H ?? 128),
            _ => throw new ArgumentException($"demo: unknown demo '{name}' (inpaint, denoise, playground)"),
        };
        string? loaded = LoadWeights(demo, weights, feedback);
        demo.Training = train;
        if (steps != null) demo.TrainingStepsPerFrame = steps.Value;
        int count = frames ?? (serve != null ? int.MaxValue : 30);
        var presenter = writeFiles ? new HeadlessPresenter(outDir, every) : null;
        // Headless runs also write every frame to <demo>.mp4 where ffmpeg is installed, at the scene clock's rate.
        string? noMp4 = null;
        using var mp4 = serve == null ? Mp4Writer.TryStart(Path.Combine(presenter!.Directory, demo.Name + ".mp4"), demo.Width, demo.Height,
            1 / new FrameLoopOptions().SecondsPerFrame, out noMp4) : null;
        if (noMp4 != null) Console.WriteLine($"no MP4: {noMp4}");
        using var viewer = serve is { } p ? BrowserViewer.StartAsync(demo, p).GetAwaiter().GetResult() : null;
        using var loop = new FrameLoop(demo, new FrameLoopOptions { TargetFps = fps ?? (serve != null ? 30 : null) });
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        string crops = demo is DenoisingDemo dc && train
            ? dc.TrainingCrop == 0 ? " on the whole frame" : $" on {dc.TrainingBatch} crop(s) of {dc.TrainingCrop}x{dc.TrainingCrop}" : "";
        Console.WriteLine($"{demo.Name}: {(frames?.ToString() ?? (serve != null ? "until Ctrl+C," : "30"))} frames of {demo.Width}x{demo.Height} on {context.Info.Name}, training {(train ? $"{demo.TrainingStepsPerFrame} step(s) a frame{crops}" : "off")}");
        if (demo is not PlaygroundDemo)
            Console.WriteLine($"activations: {demo.InferenceLayout} for inference, {demo.TrainingLayout} for training{(layout == null ? " (each compile's choice)" : "")}");
        if (viewer != null) Console.WriteLine($"viewer: open {viewer.Address} in a browser (Ctrl+C stops)");
        void OnFrame(CompletedFrame f)
        {
            presenter?.Present(f);
            mp4?.Write(f.Rgba);
            viewer?.Present(f);
            if (f.Record.Index % (viewer != null ? 100 : 10) == 0 || f.Record.Index == count - 1)
                Console.WriteLine($"  frame {f.Record.Index,5}  {f.Record.FrameMilliseconds,8:0.0} ms  {string.Join("  ", f.Record.Metrics.Select(m => $"{m.Key} {m.Value:0.####}"))}");
        }
        // Serving runs in chunks, so a long session keeps bounded memory; the statistics are the last chunk's.
        int chunk = viewer != null ? ServeChunk : count;
        FrameStatistics? stats = null;
        for (int left = count; left > 0 && !stop.IsCancellationRequested;)
        {
            try { stats = loop.Run(Math.Min(chunk, left), OnFrame, stop.Token); }
            catch (OperationCanceledException) { break; }
            left -= stats.Frames;
        }
        if (stats == null) return 0;
        var info = new Dictionary<string, object>
        {
            ["demo"] = demo.Name,
            ["device"] = context.Info.Name,
            ["width"] = demo.Width,
            ["height"] = demo.Height,
            ["training_steps_per_frame"] = train ? demo.TrainingStepsPerFrame : 0,
        };
        if (demo is DenoisingDemo d)
        {
            info["feedback"] = d.Feedback;
            // Crop 0: whole-frame training (batch 1).
            info["training_crop"] = d.TrainingCrop;
            info["training_batch"] = d.TrainingBatch;
        }
        if (demo is not PlaygroundDemo)
        {
            info["weights"] = loaded ?? "random";
            info["inference_layout"] = demo.InferenceLayout.ToString().ToLowerInvariant();
            info["training_layout"] = demo.TrainingLayout.ToString().ToLowerInvariant();
        }
        if (images != null) info["images"] = images.Files.Count;
        Console.WriteLine($"{stats.Fps:0.00} fps ({stats.SteadyFps:0.00} after {stats.WarmupFrames} warm-up frames); frame ms p50 {stats.P50FrameMilliseconds:0.0}, p95 {stats.P95FrameMilliseconds:0.0}, p99 {stats.P99FrameMilliseconds:0.0}");
        Console.WriteLine("GPU ms per stage: " + string.Join(", ", stats.MeanStageMilliseconds.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key.ToString().ToLowerInvariant()} {kv.Value:0.00}")));
        if (stats.MeanMetrics.Count > 0)
            Console.WriteLine("mean metrics: " + string.Join(", ", stats.MeanMetrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:0.####}")));
        if (stats.MeanMetrics.TryGetValue("flicker_denoised", out double fd) && stats.MeanMetrics.TryGetValue("flicker_reference", out double fr))
            Console.WriteLine($"flicker (mean change between consecutive frames): denoised {fd:0.####}, reference {fr:0.####} ({fd / fr:0.##}x the reference's)");
        if (presenter != null)
        {
            var statsPath = presenter.WriteStatistics(stats, info);
            Console.WriteLine($"{presenter.Written.Count} PNG frames and {Path.GetFileName(statsPath)} in {presenter.Directory}");
            if (mp4 != null)
            {
                mp4.Finish();
                Console.WriteLine($"{mp4.Frames} frames in {mp4.Path}");
            }
        }
        return 0;
    }

    /// <summary>
    /// Loads --weights FILE, or by default the shipped weights (weights/ beside the app) where they fit; returns the
    /// file loaded, null for random weights.
    /// </summary>
    static string? LoadWeights(RealtimeDemo demo, string? weights, bool feedback)
    {
        if (demo is PlaygroundDemo || weights == "none") return null;
        if (weights == null)
        {
            if (feedback)
            {
                Console.WriteLine("weights: random (the shipped denoiser takes 9 channels, --feedback 12)");
                return null;
            }
            string shipped = demo is InpaintingDemo ? InpaintingDemo.ShippedWeights : DenoisingDemo.ShippedWeights;
            weights = Path.Combine(AppContext.BaseDirectory, "weights", shipped);
            if (!File.Exists(weights))
            {
                Console.WriteLine($"weights: random (no shipped weights at {weights})");
                return null;
            }
        }
        if (demo is InpaintingDemo inpaint) inpaint.LoadWeights(weights);
        else ((DenoisingDemo)demo).LoadWeights(weights);
        Console.WriteLine($"weights: {weights}");
        return weights;
    }

    static int PositiveInt(string s, string what) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new ArgumentException($"demo: {what} must be a positive integer, got '{s}'");

    static (int, int) ParseSize(string s)
    {
        var parts = s.Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out int w) && int.TryParse(parts[1], out int h) && w > 0 && h > 0) return (w, h);
        throw new ArgumentException($"demo: --size is WxH (e.g. 128x128), got '{s}'");
    }
}

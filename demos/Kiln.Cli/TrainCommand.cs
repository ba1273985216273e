using System.Globalization;
using Kiln.Cli.Reports;
using Kiln.Data;
using Kiln.IO;
using Kiln.Training;
using Kiln.Training.Presets;
using Spectre.Console;

namespace Kiln.Cli;

/// <summary>
/// `kiln train PRESET [--epochs N] [--batch B] [--lr X] [--seed S] [--precision fp32|fp16] [--data PATH] [--out DIR] [--set KEY=VALUE]... [--resume CHECKPOINT]`:
/// trains a preset of MODELS.md with progress bars and writes, into --out, metrics.json, loss.png, samples.png (or
/// boundary.png for playground presets), latent.png for 2-D latents, and checkpoint.safetensors after every epoch.
/// </summary>
internal static class TrainCommand
{
    public static int Run(string[] args)
    {
        string? name = null, data = null, outDir = null, resume = null;
        int? epochs = null, batch = null, seed = null;
        float? lr = null;
        Precision? precision = null;
        var arguments = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"train: {args[i]} needs a value");
            int Int(string flag) => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"train: {flag} takes a positive integer, got '{args[i]}'");
            switch (args[i])
            {
                case "--epochs": epochs = Int("--epochs"); break;
                case "--batch": batch = Int("--batch"); break;
                case "--seed":
                    seed = int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : throw new ArgumentException($"train: --seed takes an integer, got '{args[i]}'");
                    break;
                case "--lr":
                    lr = float.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out var l) && l > 0 && float.IsFinite(l) ? l : throw new ArgumentException($"train: --lr takes a positive number, got '{args[i]}'");
                    break;
                case "--precision": precision = CliApp.ParsePrecision("train", Next()); break;
                case "--data": data = Next(); break;
                case "--out": outDir = Next(); break;
                case "--resume": resume = Next(); break;
                case "--set":
                    var kv = Next().Split('=', 2);
                    if (kv.Length != 2 || kv[0].Length == 0) throw new ArgumentException($"train: --set takes KEY=VALUE, got '{args[i]}'");
                    arguments[kv[0]] = kv[1];
                    break;
                default:
                    if (args[i].StartsWith('-') || name != null) return CliApp.Fail($"train: unexpected argument '{args[i]}'");
                    name = args[i];
                    break;
            }
        }
        if (name == null) return CliApp.Fail($"train: name a preset: {string.Join(", ", PresetCatalog.Names)}");
        var preset = PresetCatalog.Get(name, arguments);
        var recipe = preset.Recipe with
        {
            Epochs = epochs ?? preset.Recipe.Epochs,
            BatchSize = batch ?? preset.Recipe.BatchSize,
            LearningRate = lr ?? preset.Recipe.LearningRate,
            Seed = seed ?? preset.Recipe.Seed,
            Precision = precision ?? preset.Recipe.Precision,
        };
        outDir ??= Path.Combine("runs", name);
        Directory.CreateDirectory(outDir);
        var (train, test) = preset.LoadData(data, recipe.Seed);
        using var context = GpuContext.Create();
        using var trainer = new Trainer(context, preset.Build, train, test, recipe);
        if (resume != null) Checkpoint.Read(resume).ResumeInto(trainer);
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(preset.ToString())}[/]: {Markup.Escape(preset.Description)}");
        AnsiConsole.MarkupLine($"{train.Count} training / {test.Count} test examples, {recipe.Epochs} epochs of {trainer.StepsPerEpoch} steps (batch {recipe.BatchSize}), {Markup.Escape(recipe.Optimizer.ToString() ?? "")} lr {recipe.LearningRate}, seed {recipe.Seed}, {(recipe.Precision == Precision.Fp16 ? "f16 activations, " : "")}on {Markup.Escape(context.Info.Name)}");

        var steps = new List<(double Epoch, double Loss)>();
        string checkpoint = Path.Combine(outDir, "checkpoint.safetensors"), metrics = Path.Combine(outDir, "metrics.json");
        try
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null;
                    trainer.Progress = p =>
                    {
                        if (task == null || p.Step == 1) task = ctx.AddTask($"epoch {p.Epoch}/{p.Epochs}", maxValue: p.StepsPerEpoch);
                        task.Value = p.Step;
                        task.Description = $"epoch {p.Epoch}/{p.Epochs}  loss {p.Loss:0.00000}  {p.SamplesPerSecond:0} samples/s";
                        steps.Add((p.Epoch - 1 + (double)p.Step / p.StepsPerEpoch, p.StepLoss));
                    };
                    trainer.Train(m =>
                    {
                        task?.StopTask();
                        Checkpoint.Save(checkpoint, trainer, preset.Architecture);
                        MetricsReport.Write(metrics, preset, recipe, context.Info.Name, trainer.History);
                        if (m.Seconds >= 1 || m.Epoch == recipe.Epochs) Plots.LossCurve(Path.Combine(outDir, "loss.png"), steps, trainer.History);
                        AnsiConsole.MarkupLine(Markup.Escape(Describe(m)));
                    });
                });
        }
        catch (TrainingDivergedException e)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            if (steps.Count > 0) Plots.LossCurve(Path.Combine(outDir, "loss.png"), steps, trainer.History);
            if (trainer.History.Count > 0) Console.Error.WriteLine($"kiln: the last good checkpoint (epoch {trainer.History.Count}) is {checkpoint}");
            return 1;
        }
        WritePictures(outDir, preset, trainer, test);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(string.Join(", ", Directory.GetFiles(outDir).Select(Path.GetFileName).Order()))} to {Markup.Escape(outDir)}");
        return 0;
    }

    static string Describe(EpochMetrics m) =>
        $"epoch {m.Epoch}: train loss {m.TrainLoss:0.00000}, test loss {m.TestLoss:0.00000}"
        + (m.TestAccuracy is { } a ? $", test accuracy {a:P2}" : "")
        + (m.TestPsnrDb is { } p ? $", test PSNR {p:0.00} dB" : "")
        + (m.TestInputPsnrDb is { } ip && double.IsFinite(ip) ? $" (input {ip:0.00} dB)" : "")
        + (m.TestMaskedPsnrDb is { } mp && m.TestMaskedInputPsnrDb is { } mip ? $", in the holes {mp:0.00} dB (input {mip:0.00} dB)" : "")
        + $", {m.Seconds:0.00} s";

    static void WritePictures(string outDir, Preset preset, Trainer trainer, IDataset test)
    {
        if (preset.Kind == PresetKind.Playground)
        {
            var points = new float[2 * test.Count];
            var target = new float[1];
            var random = new Random(0);
            for (int i = 0; i < test.Count; i++) test.Read(i, points.AsSpan(2 * i, 2), target, random);
            var labels = Enumerable.Range(0, test.Count).Select(test.Label).ToArray();
            Plots.DecisionBoundary(Path.Combine(outDir, "boundary.png"), (x, n) => trainer.Predict(x, n), points, labels);
            return;
        }
        bool latent2d = preset.Kind == PresetKind.Autoencoder && preset.Arguments.TryGetValue("latent", out var z) && z == "2";
        int samples = Math.Min(8, test.Count);
        var eval = trainer.Evaluate(samples, latent2d ? "latent" : null);
        int h = preset.InputShape[^2], w = preset.InputShape[^1];
        int inPer = eval.Inputs.Length / samples, outPer = eval.Outputs.Length / samples, tPer = eval.Targets.Length / samples;
        int zoom = Math.Max(1, 128 / Math.Max(h, w)); // small images (28x28) drawn larger
        var rows = Enumerable.Range(0, samples).Select(i => (IReadOnlyList<float[]?>)new[]
        {
            Zoom(eval.Inputs.AsSpan(i * inPer, inPer), h, w, zoom),
            Zoom(eval.Outputs.AsSpan(i * outPer, outPer), h, w, zoom),
            Zoom(eval.Targets.AsSpan(i * tPer, tPer), h, w, zoom),
        }).ToList();
        ImageFile.SaveGrid(Path.Combine(outDir, "samples.png"), rows, h * zoom, w * zoom);
        if (latent2d)
            Plots.LatentScatter(Path.Combine(outDir, "latent.png"), eval.Extra, eval.Labels, test.ClassCount, FashionClasses);
    }

    /// <summary>A CHW image enlarged <paramref name="zoom"/> times by repeating pixels.</summary>
    static float[] Zoom(ReadOnlySpan<float> chw, int h, int w, int zoom)
    {
        int channels = chw.Length / (h * w), zh = h * zoom, zw = w * zoom;
        var result = new float[channels * zh * zw];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < zh; y++)
                for (int x = 0; x < zw; x++)
                    result[(c * zh + y) * zw + x] = chw[(c * h + y / zoom) * w + x / zoom];
        return result;
    }

    static readonly string[] FashionClasses = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
}

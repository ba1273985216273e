using System.Text.Json;
using System.Text.Json.Nodes;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// The plan choices of a tuned compile (PlanChoices): CompileOptions.FuseMlp null, where a chain of small Linear
/// layers is timed as one fused MLP (on each fused-MLP kernel entry the device runs) and layer by layer, and RowBands null, where an inference plan's banded convolution
/// pair is timed banded and whole. Each is timed once, remembered with the tuning choices, and decides later compiles
/// (a choice written into the file either way is followed), which compute the same numbers either way. Untuned, or with
/// the option set, nothing is timed.
/// </summary>
public sealed class PlanChoicesTests
{
    const int Batch = 1024;

    /// <summary>2 -> 16 -> 16 -> 1 with tanh: widths the fused kernels take on lavapipe too (FusedMlp.Preferred).</summary>
    static Network Mlp()
    {
        var net = new Network();
        var h = net.Add(new Tanh(), "t0", net.Add(new Linear(2, 16), "fc0", net.Input("x")));
        h = net.Add(new Tanh(), "t1", net.Add(new Linear(16, 16), "fc1", h));
        var y = net.Add(new Linear(16, 1), "fc2", h);
        net.Output(y, "y");
        net.SetLoss(new MseLoss(), y, net.Input("t"));
        return net;
    }

    static CompileOptions Options(bool autotune, bool? fuse = null) => new()
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(Batch, 2), ["t"] = new Shape(Batch, 1) },
        Training = true, LearningRate = 0.05f, Seed = 3, Autotune = autotune, FuseMlp = fuse,
    };

    /// <summary>The loss after three steps and whether the plan ran a fused MLP.</summary>
    static (float Loss, bool Fused) Train(GpuContext ctx, CompileOptions options)
    {
        using var c = Mlp().Compile(ctx, options);
        c.SetInput("x", RandomData.Uniform(Batch * 2, 1).Select(v => (float)v).ToArray());
        c.SetInput("t", RandomData.Uniform(Batch, 2).Select(v => (float)v).ToArray());
        for (int i = 0; i < 3; i++) c.Run();
        return (c.GetOutput("loss")[0], c.Plan.Dispatches.Any(d => d.Kernel.StartsWith("mlp/", StringComparison.Ordinal)));
    }

    /// <summary>The remembered choice of <paramref name="kind"/> in the tuning file, and its key.</summary>
    static (string Key, string Choice) Remembered(string file, string kind)
    {
        var choices = JsonNode.Parse(File.ReadAllText(file))!["choices"]!.AsObject();
        var entry = choices.Single(kv => kv.Key.StartsWith(kind + "|", StringComparison.Ordinal));
        return (entry.Key, entry.Value!.GetValue<string>());
    }

    /// <summary>Writes <paramref name="choice"/> for <paramref name="key"/> into the tuning file.</summary>
    static void Remember(string file, string key, string choice)
    {
        var json = JsonNode.Parse(File.ReadAllText(file))!;
        json["choices"]![key] = choice;
        File.WriteAllText(file, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static string TempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-plan-choices-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Test]
    public void FusedMlp_TimedOnce_Remembered_AndFollowed()
    {
        var dir = TempFolder();
        try
        {
            var untuned = Train(Gpu.Context, Options(false));
            Assert.That(untuned.Fused, Is.True, "the device's rule fuses these widths");
            var separate = Train(Gpu.Context, Options(false, fuse: false));
            Assert.That(separate.Fused, Is.False);

            string file;
            bool chosenFused;
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                var tuned = Train(ctx, Options(true));
                file = ctx.Tuner.FilePath!;
                chosenFused = Remembered(file, "mlp_fusion").Choice == "Fused";
                Assert.That(tuned.Fused, Is.EqualTo(chosenFused), "the plan follows the timing");
                Assert.That(tuned.Loss, Is.EqualTo(chosenFused ? untuned.Loss : separate.Loss).Within(1e-3).Percent);
                int timed = ctx.Tuner.Timed;
                Assert.That(Train(ctx, Options(true)).Fused, Is.EqualTo(chosenFused));
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(timed), "the second compile recalls the choice");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }

            // The other choice written into the file: a new context follows it.
            Remember(file, Remembered(file, "mlp_fusion").Key, chosenFused ? "Unfused" : "Fused");
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                var other = Train(ctx, Options(true));
                Assert.That(other.Fused, Is.EqualTo(!chosenFused));
                Assert.That(other.Loss, Is.EqualTo(chosenFused ? separate.Loss : untuned.Loss).Within(1e-3).Percent);
            }

            // A fused-MLP kernel entry remembered by name (where the device runs several, each is timed): its kernels run.
            Remember(file, Remembered(file, "mlp_fusion").Key, "MlpTileKernels");
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                using var c = Mlp().Compile(ctx, Options(true));
                Assert.That(c.Plan.Dispatches.Select(d => d.Kernel), Does.Contain("mlp/mlp.tile.fwd").And.Contain("mlp/mlp.tile.bwd"));
            }
            Assert.That(untuned.Loss, Is.EqualTo(separate.Loss).Within(1e-2).Percent, "fused or not, the same training");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void FuseMlpSet_OrUntuned_TimesNothing()
    {
        var dir = TempFolder();
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            Assert.That(Train(ctx, Options(true, fuse: false)).Fused, Is.False);
            Assert.That(Train(ctx, Options(true, fuse: true)).Fused, Is.True);
            Assert.That(Train(ctx, Options(false)).Fused, Is.True);
            var text = File.Exists(ctx.Tuner.FilePath) ? File.ReadAllText(ctx.Tuner.FilePath!) : "";
            Assert.That(text, Does.Not.Contain("mlp_fusion|"));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// 1 -> 16 -> 1 channels at 128 x 128: the first convolution's output, 1 MiB of f32, takes the automatic row bands
    /// from CompileOptions.RowBandMinBytes = 1 MiB untuned; tuned, the plan is timed banded and whole once and follows
    /// the remembered choice, and the output is the same either way.
    /// </summary>
    [Test]
    public void RowBands_TimedOnce_Remembered_AndFollowed()
    {
        var net = new Network();
        var h = net.Add(new ReLU(), "relu", net.Add(new Conv2d(1, 16, 3, padding: 1), "first", net.Input("x")));
        net.Output(net.Add(new Conv2d(16, 1, 3, padding: 1), "second", h), "y");
        var shape = new Shape(1, 1, 128, 128);
        var x = RandomData.Uniform((int)shape.Elements, 9).Select(v => (float)v - 0.5f).ToArray();
        (float[] Y, bool Banded) Run(GpuContext ctx, bool autotune, int? bands = null)
        {
            using var c = net.Compile(ctx, CompileOptions.For("x", shape) with { Autotune = autotune, RowBands = bands, RowBandMinBytes = 1 << 20 });
            c.SetInput("x", x);
            c.Run();
            return (c.GetOutput("y"), c.Plan.Dispatches.Any(d => d.Label.Contains(".band", StringComparison.Ordinal)));
        }
        var banded = Run(Gpu.Context, false);
        Assert.That(banded.Banded, Is.True, "the automatic bands, untuned");
        var dir = TempFolder();
        try
        {
            string file;
            bool chosenBanded;
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                var tuned = Run(ctx, true);
                file = ctx.Tuner.FilePath!;
                chosenBanded = Remembered(file, "row_bands").Choice == "Banded";
                Assert.That(tuned.Banded, Is.EqualTo(chosenBanded), "the plan follows the timing");
                Assert.That(RelativeError.MaxRelative(tuned.Y, banded.Y.Select(v => (double)v).ToArray()), Is.LessThan(Tolerances.Forward));
                int timed = ctx.Tuner.Timed;
                Assert.That(Run(ctx, true).Banded, Is.EqualTo(chosenBanded));
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(timed), "the second compile recalls the choice");
                Assert.That(Run(ctx, true, bands: 0).Banded, Is.False, "RowBands set: no choice");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            Remember(file, Remembered(file, "row_bands").Key, chosenBanded ? "Whole" : "Banded");
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
                Assert.That(Run(ctx, true).Banded, Is.EqualTo(!chosenBanded));
        }
        finally { Directory.Delete(dir, true); }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// CompileOptions.FuseMlp null under tuned kernels (MlpFusionChoice): a chain of small Linear layers is timed as one fused
/// MLP and layer by layer, once; the choice is remembered with the tuning choices and decides later compiles, which
/// train to the same numbers either way (within the f32 tolerance: the sums run in another order). Untuned, or with
/// FuseMlp set, nothing is timed.
/// </summary>
public sealed class MlpFusionChoiceTests
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

    [Test]
    public void Tuned_TimesBothOnce_RemembersTheChoice_AndFollowsIt()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-mlp-fusion-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
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
                var choices = JsonNode.Parse(File.ReadAllText(file))!["choices"]!.AsObject();
                var key = choices.Single(kv => kv.Key.StartsWith("mlp_fusion|", StringComparison.Ordinal));
                chosenFused = key.Value!.GetValue<string>() == "Fused";
                Assert.That(tuned.Fused, Is.EqualTo(chosenFused), "the plan follows the timing");
                Assert.That(tuned.Loss, Is.EqualTo(chosenFused ? untuned.Loss : separate.Loss).Within(1e-3).Percent);
                int timed = ctx.Tuner.Timed;
                Assert.That(Train(ctx, Options(true)).Fused, Is.EqualTo(chosenFused));
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(timed), "the second compile recalls the choice");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }

            // The other choice written into the file: a new context follows it.
            var json = JsonNode.Parse(File.ReadAllText(file))!;
            var entries = json["choices"]!.AsObject();
            var name = entries.Single(kv => kv.Key.StartsWith("mlp_fusion|", StringComparison.Ordinal)).Key;
            entries[name] = chosenFused ? "Unfused" : "Fused";
            File.WriteAllText(file, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                var other = Train(ctx, Options(true));
                Assert.That(other.Fused, Is.EqualTo(!chosenFused));
                Assert.That(other.Loss, Is.EqualTo(chosenFused ? separate.Loss : untuned.Loss).Within(1e-3).Percent);
            }
            Assert.That(untuned.Loss, Is.EqualTo(separate.Loss).Within(1e-2).Percent, "fused or not, the same training");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void FuseMlpSet_OrUntuned_TimesNothing()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-mlp-fusion-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
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
}

using System.Text.Json.Nodes;
using Kiln.Layers;
using Kiln.Vulkan;
using Kiln.Tests.Layers;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

/// <summary>
/// CompileOptions.Autotune with the convolution forward's candidates (ConvForward: the direct kernel's tiles,
/// Conv2dDirect.Blocks, and the tiled kernel where named), on lavapipe where tuning is off unless asked: a tuned layer
/// still matches the reference, its choice is written beside the pipeline cache and read back by the next context without
/// timing again, and a bad tuning file is ignored with a warning.
/// </summary>
public sealed class AutotuneTests
{
    const int N = 2, Cin = 3, Cout = 16, H = 10, W = 9;
    static readonly Shape XShape = new(N, Cin, H, W);

    [Test]
    public void BlocksStartWithTheDefaultAndStayWithinTheLayer()
    {
        var blocks = Conv2dDirect.Blocks(28, 32).ToList();
        Assert.That(blocks[0], Is.EqualTo((7, 16)), "the default tile first");
        Assert.That(blocks, Is.Unique);
        Assert.That(blocks, Has.Count.EqualTo(6));
        Assert.That(Conv2dDirect.Blocks(3, 2), Is.EquivalentTo(new[] { (3, 2), (1, 2) }), "narrow and few channels");
    }

    [Test]
    public void TunedConvolutionMatchesTheReferenceAndIsRememberedOnDisk()
    {
        var dir = TempDirectory();
        try
        {
            float[] first;
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                first = Forward(ctx, autotune: true);
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(1), "one layer shape timed");
                Assert.That(ctx.Tuner.Rejected, Is.EqualTo(0), "every tile agrees with the default kernel");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            var file = Directory.GetFiles(dir, "tuning-*.json").Single();
            Assert.That(File.ReadAllText(file), Does.Contain("conv2d.fwd|Conv2dDirect|").And.Contain("\"Conv2dDirect:px"), "the choice is on disk");

            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
            {
                var again = Forward(ctx, autotune: true);
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(0), "the next context reads the choice instead of timing");
                Assert.That(again, Is.EqualTo(first), "same tile, same bits");
            }

            var spec = new Conv2dSpec(N, Cin, H, W, Cout, 3, 3, 1, 1, 1, 1, 1, 1, 1);
            var y = RefConv2d.Forward(spec, ConvTest.D(Input()), ConvTest.D(Weight()), ConvTest.D(Bias()));
            Assert.That(RelativeError.MaxRelative(first, y), Is.LessThan(Tolerances.Forward));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Conv2dTiled (named here; a GPU's own candidate) is timed against the direct kernel's tiles; either way the result is right.</summary>
    [Test]
    public void TheTiledKernelIsTimedAgainstTheDirectTiles()
    {
        var dir = TempDirectory();
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            var y = Forward(ctx, autotune: true, prefer: nameof(Conv2dTiled));
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
            var choices = File.ReadAllText(ctx.Tuner.FilePath!);
            Assert.That(choices, Does.Contain("conv2d.fwd|Conv2dTiled+Conv2dDirect|"), "both entries' candidates");
            var spec = new Conv2dSpec(N, Cin, H, W, Cout, 3, 3, 1, 1, 1, 1, 1, 1, 1);
            var expected = RefConv2d.Forward(spec, ConvTest.D(Input()), ConvTest.D(Weight()), ConvTest.D(Bias()));
            Assert.That(RelativeError.MaxRelative(y, expected), Is.LessThan(Tolerances.Forward));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void AnUnreadableTuningFileIsIgnoredWithAWarningAndRewritten()
    {
        var dir = TempDirectory();
        try
        {
            var log = new List<string>();
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = s => { lock (log) log.Add(s); } });
            // A context's tuner reads the file when first used: this one found none; the next one finds the bad file.
            File.WriteAllText(ctx.Tuner.FilePath!, "{ not json");
            using var fresh = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = s => { lock (log) log.Add(s); } });
            var y = Forward(fresh, autotune: true);
            Assert.That(log, Has.Some.Contains("ignoring kernel tuning file"));
            Assert.That(fresh.Tuner.Timed, Is.EqualTo(1));
            Assert.That(File.ReadAllText(fresh.Tuner.FilePath!), Does.Contain("kiln-tuning-1"), "written anew");
            Assert.That(y, Has.Length.EqualTo(N * Cout * H * W));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// A choice is followed only among the candidates it was made among: the next context follows it without timing; one
    /// whose file says it was made among other candidates (as a Kiln that offered other tiles would have written), or says
    /// nothing of them (a file from before the fingerprints), times the shape again.
    /// </summary>
    [Test]
    public void ARememberedChoiceIsFollowedOnlyAmongTheSameCandidates()
    {
        var dir = TempDirectory();
        try
        {
            string file = "";
            int Timed()
            {
                using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
                Forward(ctx, autotune: true);
                file = ctx.Tuner.FilePath!;
                return ctx.Tuner.Timed;
            }
            Assert.That(Timed(), Is.EqualTo(1), "first timed");
            Assert.That(Timed(), Is.Zero, "then remembered among the same candidates");
            var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var among = json["among"]!.AsObject();
            among[among.Single().Key] = "0000000000000000";
            File.WriteAllText(file, json.ToJsonString());
            Assert.That(Timed(), Is.EqualTo(1), "chosen among other candidates");
            json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            Assert.That(json.Remove("among"), Is.True);
            File.WriteAllText(file, json.ToJsonString());
            Assert.That(Timed(), Is.EqualTo(1), "a file without fingerprints");
            Assert.That(Timed(), Is.Zero, "remembered again");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>A candidate the driver can't build (here: no such module) is skipped with a warning; the others are timed.</summary>
    [Test]
    public void ACandidateThatCannotBeBuiltIsSkippedWithAWarning()
    {
        var dir = TempDirectory();
        try
        {
            var log = new List<string>();
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = s => { lock (log) log.Add(s); } });
            var copy = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 64);
            var push = BitConverter.GetBytes(16u); // 16 vec4 = the 256 bytes of each scratch buffer
            var candidates = new[]
            {
                new TuneCandidate("missing", copy with { Module = "no/such_kernel" }, (1, 1, 1), push),
                new TuneCandidate("copy", copy, (1, 1, 1), push),
            };
            Assert.That(ctx.Tuner.Choose("test|skip", candidates, CopyBindings, 1e-6), Is.EqualTo(1));
            Assert.That(log, Has.Some.Contains("candidate missing skipped").And.Some.Contains("no/such_kernel"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    static readonly TuneBinding[] CopyBindings = { new(256, 4, Written: false), new(256, 4, Written: true) };

    /// <summary>
    /// A candidate whose result differs from the first candidate's (here a sigmoid among copies) is rejected with a
    /// warning and never chosen, whatever its time; one that agrees stays in the race.
    /// </summary>
    [Test]
    public void ACandidateThatComputesSomethingElseIsRejected()
    {
        var dir = TempDirectory();
        try
        {
            var log = new List<string>();
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, Log = s => { lock (log) log.Add(s); } });
            var copy = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 64);
            KernelSpec Unary(Activation op) => new("elementwise/unary", KernelSpec.Buffers(2), 4, new[] { (uint)op, KernelSpec.Word(0f) }, 64);
            var candidates = new[]
            {
                new TuneCandidate("copy", copy, (1, 1, 1), BitConverter.GetBytes(16u)),
                new TuneCandidate("sigmoid", Unary(Activation.Sigmoid), (1, 1, 1), BitConverter.GetBytes(64u)),
                new TuneCandidate("identity", Unary(Activation.None), (1, 1, 1), BitConverter.GetBytes(64u)),
            };
            int chosen = ctx.Tuner.Choose("test|reject", candidates, CopyBindings, 1e-6);
            Assert.That(chosen, Is.Not.EqualTo(1));
            Assert.That(ctx.Tuner.Rejected, Is.EqualTo(1));
            Assert.That(log, Has.Some.Contains("candidate sigmoid rejected"));
            Assert.That(log, Has.None.Contains("candidate identity rejected"));
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// A candidate that writes only part of its output (here a copy of half the buffer) leaves the rest as the NaN the
    /// outputs are filled with before each candidate, and is rejected; at f32 and at f16 (the poison is NaN in both).
    /// </summary>
    [TestCase(4)]
    [TestCase(2)]
    public void ACandidateThatLeavesPartOfItsOutputUnwrittenIsRejected(int floatBytes)
    {
        var log = new List<string>();
        using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "", Log = s => { lock (log) log.Add(s); } });
        var copy = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 64);
        var candidates = new[]
        {
            new TuneCandidate("whole", copy, (1, 1, 1), BitConverter.GetBytes(16u)),
            new TuneCandidate("half", copy, (1, 1, 1), BitConverter.GetBytes(8u)),
        };
        TuneBinding[] bindings = { new(256, floatBytes, Written: false), new(256, floatBytes, Written: true) };
        Assert.That(ctx.Tuner.Choose($"test|unwritten{floatBytes}", candidates, bindings, 1e-6), Is.EqualTo(0));
        Assert.That(ctx.Tuner.Rejected, Is.EqualTo(1));
        Assert.That(log, Has.Some.Contains("candidate half rejected"));
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }

    /// <summary>
    /// ContextOptions.TuningBudget: once spent (here none at all), a tuned compile keeps the untuned kernels (the same
    /// bits), says so once, and remembers nothing, so a context without the budget times the shape.
    /// </summary>
    [Test]
    public void ASpentTuningBudgetKeepsTheUntunedKernelsAndRemembersNothing()
    {
        var dir = TempDirectory();
        try
        {
            var log = new List<string>();
            float[] untuned;
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir }))
                untuned = Forward(ctx, autotune: false);
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, TuningBudget = TimeSpan.Zero, Log = s => { lock (log) log.Add(s); } }))
            {
                Assert.That(Forward(ctx, autotune: true), Is.EqualTo(untuned), "the untuned kernel, bit for bit");
                Forward(ctx, autotune: true);
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(0));
                Assert.That(ctx.Tuner.Skipped, Is.EqualTo(2), "both compiles left the shape untuned");
                Assert.That(ctx.Tuner.Seconds, Is.Zero);
                Assert.That(log.Count(l => l.Contains("time budget is spent (0 s timed, up to 0 s)")), Is.EqualTo(1), "said once");
                Assert.That(Directory.GetFiles(dir, "tuning-*.json"), Is.Empty, "nothing remembered");
            }
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir, TuningBudget = TimeSpan.FromHours(1) }))
            {
                Forward(ctx, autotune: true);
                Assert.That(ctx.Tuner.Timed, Is.EqualTo(1), "a later context within its budget times it");
                Assert.That(ctx.Tuner.Seconds, Is.GreaterThan(0));
                Assert.That(ctx.Tuner.Skipped, Is.Zero);
            }
            Assert.That(() => GpuContext.Create(Gpu.Options with { TuningBudget = TimeSpan.FromSeconds(-1) }),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("TuningBudget can't be negative"));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Scratch buffers that don't fit in memory leave the shape untuned (candidate 0), unremembered, with a warning: the compile goes on.</summary>
    [Test]
    public void AShapeWhoseScratchDoesNotFitKeepsItsUntunedKernel()
    {
        var log = new List<string>();
        using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "", MemoryLimitBytes = 1 << 20, BlockBytes = 1 << 20, Log = s => { lock (log) log.Add(s); } });
        var copy = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 64);
        var candidates = new[] { new TuneCandidate("a", copy, (1, 1, 1), BitConverter.GetBytes(16u)), new TuneCandidate("b", copy, (1, 1, 1), BitConverter.GetBytes(16u)) };
        TuneBinding[] huge = { new(4L << 20, 4, Written: false), new(4L << 20, 4, Written: true) };
        Assert.That(ctx.Tuner.Choose("test|huge", candidates, huge, 1e-6), Is.Zero);
        Assert.That(ctx.Tuner.Timed, Is.Zero);
        Assert.That(ctx.Tuner.Recall("test|huge"), Is.Null, "not remembered");
        Assert.That(log, Has.Some.Contains("tuning test|huge: no memory for the scratch buffers"));
        Assert.That(ctx.Tuner.Choose("test|fits", candidates, CopyBindings, 1e-6), Is.EqualTo(0).Or.EqualTo(1), "the scratch was released: a small shape is timed");
        Assert.That(ctx.Tuner.Timed, Is.EqualTo(1));
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }

    /// <summary>KILN_TUNING_BUDGET sets the budget where ContextOptions.TuningBudget does not; a value that is not seconds is refused.</summary>
    [Test]
    public void TheTuningBudgetCanComeFromTheEnvironment()
    {
        var before = Environment.GetEnvironmentVariable("KILN_TUNING_BUDGET");
        try
        {
            Environment.SetEnvironmentVariable("KILN_TUNING_BUDGET", "2.5");
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "" }))
                Assert.That(ctx.Tuner.Budget, Is.EqualTo(TimeSpan.FromSeconds(2.5)));
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "", TuningBudget = TimeSpan.FromSeconds(7) }))
                Assert.That(ctx.Tuner.Budget, Is.EqualTo(TimeSpan.FromSeconds(7)), "the option wins");
            Environment.SetEnvironmentVariable("KILN_TUNING_BUDGET", "a minute");
            Assert.That(() => GpuContext.Create(Gpu.Options), Throws.ArgumentException.With.Message.Contains("KILN_TUNING_BUDGET takes seconds"));
            Environment.SetEnvironmentVariable("KILN_TUNING_BUDGET", null);
            using (var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "" }))
                Assert.That(ctx.Tuner.Budget, Is.Null);
        }
        finally { Environment.SetEnvironmentVariable("KILN_TUNING_BUDGET", before); }
    }

    [Test]
    public void LavapipeDoesNotTuneUnlessAsked()
    {
        var dir = TempDirectory();
        try
        {
            using var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = dir });
            Assume.That(ctx.Info.IsCpu, "on a GPU tuning is the default");
            Forward(ctx, autotune: null);
            Assert.That(ctx.Tuner.Timed, Is.EqualTo(0));
            Assert.That(Directory.GetFiles(dir, "tuning-*.json"), Is.Empty);
        }
        finally { Directory.Delete(dir, true); }
    }

    static float[] Input() => FixtureLayer.Uniform(XShape.Elements, 31);
    static float[] Weight() => FixtureLayer.Uniform(Cout * Cin * 9, 32);
    static float[] Bias() => FixtureLayer.Uniform(Cout, 33);

    static float[] Forward(GpuContext ctx, bool? autotune, string? prefer = null)
    {
        var net = new Sequential(new Conv2d(Cin, Cout, 3, 1, 1));
        using var compiled = net.Compile(ctx, CompileOptions.For("x", XShape) with
        {
            Autotune = autotune,
            Fuse = false,
            PreferKernels = prefer == null ? Array.Empty<string>() : new[] { prefer },
            ActivationLayout = TensorLayout.Nchw, // the kernel choices alone, not the layout's
        });
        compiled.SetInput("x", Input());
        var prefix = compiled.Parameters.Keys.Single(k => k.EndsWith(".weight"))[..^".weight".Length];
        compiled.Parameters[$"{prefix}.weight"].Upload(Weight());
        compiled.Parameters[$"{prefix}.bias"].Upload(Bias());
        compiled.Run();
        return compiled.GetOutput("y");
    }

    static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-autotune-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

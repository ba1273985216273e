using Kiln.Cli.Bench;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`kiln bench` and `kiln selftest` on bad arguments: a one-line reason on stderr and a non-zero exit, before any GPU work.</summary>
public sealed class BenchArgumentTests
{
    static void FailsWith(string mentions, int code, params string[] args)
    {
        var r = CliRun.Run(args);
        Assert.That(r.Code, Is.EqualTo(code), r.Stderr);
        Assert.That(r.Stderr, Does.StartWith("kiln: ").And.Contain(mentions));
        Assert.That(r.Stderr, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void UnknownPrecision() => FailsWith("--precision takes fp32 or fp16", 2, "bench", "--precision", "fp8");

    [Test]
    public void UnknownSize() => FailsWith("--size takes full or small, got 'medium'", 2, "bench", "--size", "medium");

    [Test]
    public void NumericSizeOfTheOldConvBenchIsRejected() => FailsWith("--size takes full or small", 2, "bench", "conv3x3_c64", "--size", "64");

    [TestCase("0")]
    [TestCase("-3")]
    [TestCase("many")]
    public void ItersMustBePositive(string n) => FailsWith("--iters takes a positive whole number", 2, "bench", "--iters", n);

    [Test]
    public void OptionWithoutItsValue() => FailsWith("--json needs a value", 2, "bench", "--json");

    [Test]
    public void UnknownOption() => FailsWith("unknown option '--fast'", 2, "bench", "--fast");

    [Test]
    public void WordMatchingNoWorkloadListsTheIds() => FailsWith("no workload id contains 'resnet'", 2, "bench", "resnet");

    /// <summary>Without cooperative matrices fp16 still stores activations as f16: the conv kernels run their f16-storage variants, and the header says so.</summary>
    [Test]
    public void Fp16OnACpuDevice_RunsTheF16StorageKernelsAndSaysWhy()
    {
        var r = CliRun.Run("bench", "conv3x3_c64_512_bwd", "--precision", "fp16", "--size", "small", "--iters", "2", "--warmup", "1", "--kernels");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
        Assume.That(Gpu.Context.Info.IsCpu, "a CPU device (lavapipe)");
        // Debian 12's lavapipe has no cooperative matrices; Mesa 26's has them, and runs the kernels using them only when named.
        Assert.That(r.Stdout, Does.Contain("activations and their gradients stored as f16, arithmetic in f32").And.Contain(
            Gpu.Context.KernelDevice.CooperativeMatrixF16Size == 0 ? "no cooperative matrices" : "run only when named: --prefer Conv2dCoopMat"));
        var kernels = System.Text.RegularExpressions.Regex.Matches(r.Stdout, @"\s(conv(?:_transpose)?2d/\S+)").Select(m => m.Groups[1].Value).ToList();
        Assert.That(kernels, Has.Some.StartsWith("conv2d/conv2d.fwd").And.Some.StartsWith("conv2d/conv2d.bwd_weight"), r.Stdout);
        Assert.That(kernels, Has.All.EndWith(".f16"), r.Stdout);
    }

    [Test]
    public void Conv3x3FollowedByAnotherWorkloadWord_FiltersTheSuite()
    {
        var r = CliRun.Run("bench", "conv3x3", "playground", "--size", "small", "--iters", "1", "--warmup", "0");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
        Assert.That(r.Stdout, Does.Contain("conv3x3_c64_512_fwd").And.Contain("conv3x3_c256_128_bwd").And.Contain("playground_mlp_b256_train_step"));
    }

    [Test]
    public void PreferNamingNoEntry_ListsTheEntries() => FailsWith("no kernel entry is called 'Conv2dMagic'; entries: ", 2, "bench", "--prefer", "Conv2dMagic");

    [Test]
    public void Prefer_RunsTheNamedEntry()
    {
        var r = CliRun.Run("bench", "conv3x3_c64_512_bwd", "--size", "small", "--iters", "1", "--warmup", "0", "--kernels", "--prefer", "Conv2dWeightGradTiled");
        Assert.That(r.Code, Is.EqualTo(0), r.Stderr);
        Assert.That(r.Stdout, Does.Contain("conv2d/conv2d.bwd_weight_tiled"));
    }

    [TestCase("-1")]
    [TestCase("soon")]
    public void TuneBudgetMustBeSeconds(string value) => FailsWith($"--tune-budget takes seconds (a number >= 0), got '{value}'", 2, "bench", "--tune-budget", value);

    /// <summary>--tune-budget is shared out: each workload may spend an equal share of what is left; what one leaves passes on.</summary>
    [Test]
    public void TheTuningBudgetIsSharedOutOverTheWorkloads()
    {
        var total = TimeSpan.FromSeconds(60);
        Assert.That(BenchSuite.TuningShare(total, 0, 4), Is.EqualTo(TimeSpan.FromSeconds(15)), "the first of four: a quarter");
        Assert.That(BenchSuite.TuningShare(total, 5, 3), Is.EqualTo(TimeSpan.FromSeconds(5 + 55.0 / 3)), "it spent 5: the rest shared by three");
        Assert.That(BenchSuite.TuningShare(total, 70, 1), Is.EqualTo(TimeSpan.FromSeconds(70)), "overspent: nothing more");
    }

    [Test]
    public void MissingPeerFile() => FailsWith("does not exist", 2, "bench", "playground", "--peer", "/nonexistent/torch_peer.json");

    [Test]
    public void PeerFileThatIsNotThePeers()
    {
        var dir = CliRun.TempFolder();
        try
        {
            var path = Path.Combine(dir, "peer.json");
            File.WriteAllText(path, "{\"results\": [{\"workload\": \"playground_mlp_b256_train_step\", \"config\": \"fp32\"}]}");
            FailsWith("has no positive median_ms", 2, "bench", "playground", "--peer", path);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void SelftestUnknownOperation() => FailsWith("no operation matches", 2, "selftest", "attention");

    [Test]
    public void SelftestBadCaseCount() => FailsWith("--cases takes a positive whole number", 2, "selftest", "--cases", "0");
}

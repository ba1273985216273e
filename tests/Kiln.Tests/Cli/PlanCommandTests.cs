using System.Text.Json;
using NUnit.Framework;

namespace Kiln.Tests.Cli;

/// <summary>`kiln plan`: a built-in network's or a bench workload's plan on this device, or on the NVIDIA description
/// (--device nvidia) at either precision, what a GPU would run read without one; bad values are clear errors.</summary>
public sealed class PlanCommandTests
{
    static JsonElement Plan(params string[] args)
    {
        var run = CliRun.Run(new[] { "plan" }.Concat(args).Append("--json").ToArray());
        Assert.That(run.Code, Is.EqualTo(0), run.Stderr);
        return JsonDocument.Parse(run.Stdout).RootElement;
    }

    static string[] Kernels(JsonElement plan) =>
        plan.GetProperty("dispatches").EnumerateArray().Select(d => d.GetProperty("Kernel").GetString()!).ToArray();

    [Test]
    public void OnTheNvidiaDescription_TheDenoiserAtFp16_RunsTensorCoreKernelsThatReadItsConcatsAndTakeItsPools()
    {
        var plan = Plan("denoise-unet", "--size", "160x96", "--precision", "fp16", "--device", "nvidia");
        Assert.That(plan.GetProperty("device").GetString(), Does.StartWith("NVIDIA"));
        Assert.That(plan.GetProperty("precision").GetString(), Is.EqualTo("fp16"));
        var kernels = Kernels(plan);
        Assert.That(kernels.Count(k => k == "conv2d/conv2d.fwd_coopmat_patch.concat.f16"), Is.EqualTo(4), "the four decoder joins");
        Assert.That(kernels.Count(k => k == "conv2d/conv2d.fwd_coopmat_patch.pool.f16"), Is.EqualTo(4), "the four encoder pools");
        Assert.That(kernels, Has.None.StartWith("concat/").And.None.StartWith("upsample/").And.None.StartWith("pool/"));
    }

    /// <summary>--layout nhwc: the same fused kernels in their channels-last variants, one transpose in and one out.</summary>
    [Test]
    public void OnTheNvidiaDescription_TheDenoiserChannelsLast_RunsTheNhwcVariants()
    {
        var plan = Plan("denoise-unet", "--size", "160x96", "--precision", "fp16", "--device", "nvidia", "--layout", "nhwc");
        Assert.That(plan.GetProperty("layout").GetString(), Is.EqualTo("nhwc"));
        var kernels = Kernels(plan);
        Assert.That(kernels.Count(k => k == "conv2d/conv2d.fwd_coopmat_patch.nhwc.concat.f16"), Is.EqualTo(4), "the four decoder joins");
        Assert.That(kernels.Count(k => k == "conv2d/conv2d.fwd_coopmat_patch.nhwc.pool.f16"), Is.EqualTo(4), "the four encoder pools");
        Assert.That(kernels.Count(k => k.StartsWith("transpose/", StringComparison.Ordinal)), Is.EqualTo(2), "x in, the output out");
        Assert.That(kernels.Where(k => k.StartsWith("conv2d/conv2d.fwd", StringComparison.Ordinal)), Has.All.Contains(".nhwc"));
    }

    [Test]
    public void OnTheNvidiaDescription_ATrainingStepAtFp16_PacksFlippedWeightsWithoutAFlipPass()
    {
        var kernels = Kernels(Plan("inpaint-unet", "--size", "64x64", "--train", "--precision", "fp16", "--device", "nvidia"));
        Assert.That(kernels, Does.Contain("conv2d/conv2d.bwd_weight_coopmat_patch.f16").And.Contain("conv2d/conv2d.pack_weight_f16"));
        Assert.That(kernels, Has.None.EqualTo("conv2d/conv2d.flip_weight"));
    }

    /// <summary>--prefer names entries, as bench's does: the direct sub-pixel decoder convolution takes the denoiser's four
    /// joins, each recording the products it does, 4 per upsampled channel and 9 per skip channel at each output pixel.</summary>
    [Test]
    public void Prefer_NamesEntries_TheDecodersBySubPixelPhase()
    {
        var plan = Plan("denoise-unet", "--size", "160x96", "--device", "nvidia", "--prefer", "Conv2dDirectSubPixel,Conv2dDirect");
        var joins = plan.GetProperty("dispatches").EnumerateArray().Where(d => d.GetProperty("Kernel").GetString() == "conv2d/conv2d.fwd_subpixel").ToList();
        Assert.That(joins, Has.Count.EqualTo(4), string.Join(", ", Kernels(plan)));
        // The last join: 64 upsampled and 9 input channels to 64 at 160x96.
        Assert.That(joins.Max(d => d.GetProperty("Flops").GetDouble()), Is.EqualTo(2.0 * 64 * 160 * 96 * (4 * 64 + 9 * 9)));
    }

    /// <summary>--prefer ENTRY:CANDIDATE runs that tile of the entry untuned: the patch kernel's wide tile (16 x 16 pixels)
    /// where its default tile is 8 x 16; the entry's part must name an entry.</summary>
    [Test]
    public void Prefer_NamesACandidate_TheWideTile()
    {
        static string Groups(JsonElement plan) => plan.GetProperty("dispatches").EnumerateArray()
            .Single(d => d.GetProperty("Label").GetString() == "conv.fwd").GetProperty("Groups").GetString()!;
        var common = new[] { "conv3x3_c64_512_fwd", "--device", "nvidia", "--precision", "fp16", "--layout", "nchw", "--prefer" };
        Assert.That(Groups(Plan(common.Append("Conv2dCoopMatPatch").ToArray())), Is.EqualTo("2048x1x1"), "512 x 512 pixels in tiles of 8 x 16");
        Assert.That(Groups(Plan(common.Append("Conv2dCoopMatPatch:patch1x4r4m4").ToArray())), Is.EqualTo("1024x1x1"), "in tiles of 16 x 16");
        var unknown = CliRun.Run("plan", "denoise-unet", "--prefer", "Conv2dMagic:patch1x4r4m4");
        Assert.That(unknown.Code, Is.EqualTo(2));
        Assert.That(unknown.Stderr, Does.Contain("no kernel entry is called 'Conv2dMagic:patch1x4r4m4'"));
    }

    [Test]
    public void OnThisDevice_ThePlanNamesIt()
    {
        var plan = Plan("playground-mlp");
        Assert.That(plan.GetProperty("device").GetString(), Is.EqualTo(Gpu.Context.Info.Name));
        Assert.That(plan.GetProperty("precision").GetString(), Is.EqualTo("fp32"));
    }

    /// <summary>A `kiln bench` workload by its id: at its full size, compiled as the bench compiles it (the MLP step: a
    /// training step with SGD, the fused MLP on tensor cores at fp16); sizes don't apply to it, and an unknown name lists
    /// both kinds.</summary>
    [Test]
    public void ABenchWorkload_IsPlannedAsTheBenchCompilesIt()
    {
        var plan = Plan("mlp_64x4_b262144_train_step", "--device", "nvidia", "--precision", "fp16");
        Assert.That(plan.GetProperty("training").GetBoolean(), Is.True);
        Assert.That(plan.GetProperty("inputs").GetProperty("x").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(new[] { 262144, 3 }));
        Assert.That(Kernels(plan), Does.Contain("mlp/mlp.coopmat.fwd.f16").And.Contain("mlp/mlp.coopmat.bwd.f16").And.Contain("optim/sgd"));
        var sized = CliRun.Run("plan", "conv3x3_c64_512_bwd", "--size", "64x64");
        Assert.That(sized.Code, Is.EqualTo(2));
        Assert.That(sized.Stderr, Does.Contain("--size, --batch and --train do not apply"));
        var unknown = CliRun.Run("plan", "mlp_64x4");
        Assert.That(unknown.Code, Is.EqualTo(2));
        Assert.That(unknown.Stderr, Does.Contain("unknown model 'mlp_64x4'").And.Contain("inpaint-unet").And.Contain("mlp_64x4_b262144_train_step"));
    }

    [TestCase("--device", "amd", "--device takes this or nvidia")]
    [TestCase("--precision", "bf16", "--precision takes fp32 or fp16")]
    [TestCase("--layout", "chw", "--layout takes nchw or nhwc")]
    [TestCase("--prefer", "Conv2dMagic", "no kernel entry is called 'Conv2dMagic'")]
    public void BadValues_AreClearErrors(string option, string value, string message)
    {
        var run = CliRun.Run("plan", "denoise-unet", option, value);
        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain(message));
    }
}

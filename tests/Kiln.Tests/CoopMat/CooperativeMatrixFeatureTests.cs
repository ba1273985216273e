using System.Diagnostics;
using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// A device may list VK_KHR_cooperative_matrix without its cooperativeMatrix feature: Mesa 26's lavapipe does at
/// 128-bit vectors (LP_NATIVE_VECTOR_WIDTH=128, subgroups of 4), where its matrices need subgroups of 8. Kiln then
/// describes and opens the device without cooperative matrices (enabling the feature would fail vkCreateDevice with
/// VK_ERROR_FEATURE_NOT_PRESENT) and runs kernels on it. lavapipe reads the vector width once per process, so the check
/// runs `kiln` in a child process on that lavapipe (KILN_DEVICE=llvmpipe), whatever device the suite runs on; it needs
/// Mesa 26's lavapipe installed, as tools/coopmat-lavapipe.sh has it (the decision itself is checked without a device
/// by DeviceChoiceTests.CooperativeMatrices_NeedTheFeatureAndTheMemoryModel).
/// </summary>
[Category(TestTools.Category)]
public sealed class CooperativeMatrixFeatureTests : CooperativeMatrixTest
{
    [Test]
    public void TheExtensionWithoutItsFeature_IsNotUsed()
    {
        if (!GpuContext.EnumerateDevices().Any(d => d.DriverName == "llvmpipe" && d.CooperativeMatrix))
            Assert.Fail("needs Mesa 26's lavapipe (a llvmpipe device with VK_KHR_cooperative_matrix): tools/coopmat-lavapipe.sh test runs " +
                        $"this test there; a run without it leaves it out with --filter \"Category!={TestTools.Category}\".");
        var cli = typeof(Kiln.Cli.CliApp).Assembly.Location;

        var info = Kiln("info");
        Assert.That(info.Code, Is.Zero, info.Output);
        Assert.That(info.Output, Does.Contain("chosen: llvmpipe"));
        Assert.That(info.Output, Does.Contain("subgroup size              4"));
        Assert.That(info.Output, Does.Contain("cooperative matrix         no (VK_KHR_cooperative_matrix without its cooperativeMatrix feature)"));
        Assert.That(info.Output, Does.Contain("cooperative matrix 2 (NV)  no"));

        // Kernels run on the device so opened, fp32 and f16 storage, validation on. (Upsampling: in Mesa 26's lavapipe at
        // 128 bits the linear and convolution kernels crash inside lavapipe's generated code, an aligned 32-byte AVX store
        // to a stack slot 16 bytes off; at 128 bits on Debian 12's lavapipe the whole suite passes.)
        var selftest = Kiln("selftest", "upsample", "--cases", "1");
        Assert.That(selftest.Code, Is.Zero, selftest.Output);
        Assert.That(selftest.Output, Does.Contain("12 of 12 passed"));
        Assert.That(selftest.Output, Does.Not.Contain("Vulkan validation"));

        (int Code, string Output) Kiln(params string[] args)
        {
            var start = new ProcessStartInfo("dotnet");
            start.ArgumentList.Add(cli);
            foreach (var a in args) start.ArgumentList.Add(a);
            start.Environment["LP_NATIVE_VECTOR_WIDTH"] = "128";
            start.Environment["KILN_DEVICE"] = "llvmpipe";
            return ChildProcess.Run(start, TimeSpan.FromMinutes(5));
        }
    }
}

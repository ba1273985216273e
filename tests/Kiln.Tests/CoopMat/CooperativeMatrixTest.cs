using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// Base of the tests of cooperative-matrix kernels: they need a device with f16*f16+f32 cooperative matrices. Elsewhere
/// (Debian 12's lavapipe) they are ignored, unless KILN_EXPECT_COOPMAT=1 says the device must have them (as
/// tools/coopmat-lavapipe.sh does on Mesa 26's lavapipe): then a device without them fails every test.
/// </summary>
[Category("CooperativeMatrix")]
public abstract class CooperativeMatrixTest : GpuTest
{
    [SetUp]
    public void RequireCooperativeMatrices()
    {
        if (Context.KernelDevice.CooperativeMatrixF16Size > 0) return;
        var message = $"{Context.Info.Name} has no f16*f16+f32 cooperative matrices (tools/coopmat-lavapipe.sh test runs these on Mesa 26's lavapipe)";
        if (Environment.GetEnvironmentVariable("KILN_EXPECT_COOPMAT") == "1") Assert.Fail(message);
        Assert.Ignore(message);
    }
}

using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// Base of the tests of cooperative-matrix kernels: they need a device with f16*f16+f32 cooperative matrices. Where
/// KILN_EXPECT_COOPMAT=1 says the device must have them (tools/coopmat-lavapipe.sh on Mesa 26's lavapipe, which a full
/// `./run.sh test` as root, and so CI, runs them on, leaving them out of the Debian 12 pass), a device without them fails
/// every test. Elsewhere (a bare `dotnet test` on Debian 12's lavapipe, a non-root run) they are ignored, saying why.
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

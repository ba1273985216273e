using NUnit.Framework;

namespace Kiln.Tests.CoopMat;

/// <summary>
/// Base of the tests of cooperative-matrix kernels: they need a device with f16*f16+f32 cooperative matrices, and on a
/// device without them every one fails, saying so: none is skipped quietly. `./run.sh test` (and so CI) leaves the
/// category out of its pass on Debian 12's lavapipe, which lacks the matrices, and runs it on Mesa 26's lavapipe
/// (tools/coopmat-lavapipe.sh); a run elsewhere without the matrices leaves it out with
/// <c>--filter "Category!=CooperativeMatrix"</c>.
/// </summary>
[Category("CooperativeMatrix")]
public abstract class CooperativeMatrixTest : GpuTest
{
    [SetUp]
    public void RequireCooperativeMatrices()
    {
        if (Context.KernelDevice.CooperativeMatrixF16Size > 0) return;
        Assert.Fail($"{Context.Info.Name} has no f16*f16+f32 cooperative matrices: tools/coopmat-lavapipe.sh test runs these tests on " +
                    "Mesa 26's lavapipe; a run on this device leaves them out with --filter \"Category!=CooperativeMatrix\".");
    }
}

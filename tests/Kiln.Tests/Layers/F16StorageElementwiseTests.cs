using NUnit.Framework;

namespace Kiln.Tests.Layers;

/// <summary>f16 activation storage of the elementwise layers agrees with f32 storage (<see cref="F16StorageCheck"/>).</summary>
public sealed class F16StorageElementwiseTests : GpuTest
{
    static IEnumerable<TestCaseData> Activations()
    {
        yield return new TestCaseData(new ReLU()).SetArgDisplayNames("relu");
        yield return new TestCaseData(new LeakyReLU(0.1f)).SetArgDisplayNames("leaky_relu");
        yield return new TestCaseData(new Sigmoid()).SetArgDisplayNames("sigmoid");
        yield return new TestCaseData(new Tanh()).SetArgDisplayNames("tanh");
    }

    [TestCaseSource(nameof(Activations))]
    public void Activation_MatchesF32(Layer layer) => F16StorageCheck.Matches(Context, layer, new[] { new Shape(3, 5, 7) });
}

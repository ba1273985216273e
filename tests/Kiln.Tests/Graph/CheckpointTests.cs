using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Graph;

public sealed class CheckpointTests : GpuTest
{
    static CompiledNetwork Compile(int seed) => PlaygroundMlp.Build().Compile(Context, new CompileOptions
    {
        InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(8, 2), ["target"] = new Shape(8, 1) },
        Training = true,
        Seed = seed,
    });

    [Test]
    public void SavedParameters_LoadIntoAFreshNetwork_AndGiveTheSameOutputs()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kiln-ckpt-{Guid.NewGuid():N}.safetensors");
        try
        {
            var x = Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i)).ToArray();
            var t = Enumerable.Range(0, 8).Select(i => (float)Math.Cos(i)).ToArray();
            float[] expected;
            using (var a = Compile(seed: 1))
            {
                a.SetInput("x", x);
                a.SetInput("target", t);
                for (int i = 0; i < 5; i++) a.Run();
                a.SaveParameters(path);
                a.LearningRate = 0;
                a.Run();
                expected = a.GetOutput("y");
            }
            using var b = Compile(seed: 2);
            b.LoadParameters(path);
            b.LearningRate = 0;
            b.SetInput("x", x);
            b.SetInput("target", t);
            b.Run();
            Assert.That(b.GetOutput("y"), Is.EqualTo(expected));
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void AFileForAnotherNetwork_IsRejectedNamingTheDifference()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kiln-ckpt-{Guid.NewGuid():N}.safetensors");
        try
        {
            Kiln.IO.Safetensors.Write(path, new[] { ("linear_0.weight", new[] { 8, 3 }, new float[24]) });
            using var net = Compile(seed: 1);
            var e = Assert.Throws<KilnException>(() => net.LoadParameters(path));
            Assert.That(e!.Message, Does.Contain("missing").And.Contain("linear_0.bias"));
        }
        finally { File.Delete(path); }
    }
}

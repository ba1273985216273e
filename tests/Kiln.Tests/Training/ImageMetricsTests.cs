using Kiln.Data;
using Kiln.Training;
using NUnit.Framework;

namespace Kiln.Tests.Training;

/// <summary>ImageMetrics: the inputs' PSNR as the baseline, and over the missing pixels alone where a dataset has a mask channel.</summary>
public sealed class ImageMetricsTests
{
    sealed class Images(Shape input, Shape target, int? mask) : IDataset
    {
        public int Count => 1;
        public Shape InputShape => input;
        public Shape TargetShape => target;
        public int ClassCount => 0;
        public void Read(int index, Span<float> i, Span<float> t, Random random) { }
        public int Label(int index) => -1;
        public int? MaskChannel => mask;
    }

    [Test]
    public void Inpainting_MeasuresTheHolesAlone()
    {
        // 1 channel, 4 pixels; pixels 2 and 3 missing (input 0 there), the output off by 0.1 in the holes only.
        var metrics = ImageMetrics.For(new Images(new Shape(2, 2, 2), new Shape(1, 2, 2), mask: 1))!;
        float[] target = { 0.5f, 0.5f, 0.5f, 0.5f };
        float[] input = { 0.5f, 0.5f, 0f, 0f, /* mask */ 0, 0, 1, 1 };
        float[] output = { 0.5f, 0.5f, 0.6f, 0.4f };
        metrics.Add(input, target, output);
        Assert.That(metrics.MaskedPsnrDb!.Value, Is.EqualTo(10 * Math.Log10(1 / 0.01)).Within(1e-4));          // 20 dB
        Assert.That(metrics.MaskedInputPsnrDb!.Value, Is.EqualTo(10 * Math.Log10(1 / 0.25)).Within(1e-4));     // 6.02 dB
        Assert.That(metrics.InputPsnrDb!.Value, Is.EqualTo(10 * Math.Log10(1 / (0.5 / 4))).Within(1e-4));      // holes over all pixels
    }

    [Test]
    public void Denoising_HasABaselineButNoMaskedFigures()
    {
        var metrics = ImageMetrics.For(new Images(new Shape(9, 1, 2), new Shape(3, 1, 2), mask: null))!;
        var target = new float[6];
        var input = new float[18];
        for (int k = 0; k < 6; k++) input[k] = 0.1f;
        metrics.Add(input, target, new float[6]);
        Assert.That(metrics.InputPsnrDb!.Value, Is.EqualTo(20).Within(1e-4));
        Assert.That(metrics.MaskedPsnrDb, Is.Null);
    }

    [Test]
    public void NonImageData_HasNoImageMetrics()
    {
        Assert.That(ImageMetrics.For(new Images(new Shape(2), new Shape(1), null)), Is.Null);
        Assert.That(ImageMetrics.For(new Images(new Shape(3, 8, 8), new Shape(3, 4, 4), null)), Is.Null, "another size");
    }
}

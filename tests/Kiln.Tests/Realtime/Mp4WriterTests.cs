using System.Diagnostics;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>MP4 output through ffmpeg: frames in, the same frames decoded back (failing where ffmpeg is not installed: <see cref="TestTools"/>).</summary>
public sealed class Mp4WriterTests
{
    /// <summary>Mean |decoded - written| over all bytes, as a fraction of 255: H.264 at its default quality on flat colour blocks.</summary>
    const double LossyAgreement = 0.03;
    string dir = "";

    [SetUp]
    public void MakeFolder() => dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "kiln-mp4-" + Guid.NewGuid().ToString("N"))).FullName;

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    [Test]
    public void WithoutFfmpeg_TryStartSaysWhy()
    {
        var missing = Path.Combine(dir, "no-such-ffmpeg");
        using var writer = Mp4Writer.TryStart(Path.Combine(dir, "x.mp4"), 16, 16, 30, out var why, ffmpeg: missing);
        Assert.That(writer, Is.Null);
        Assert.That(why, Does.Contain(missing).And.Contain("install ffmpeg"));
    }

    /// <summary>Frame i: left half colour A_i, right half colour B_i, flat blocks that survive lossy coding.</summary>
    static byte[] Frame(int i, int w, int h)
    {
        var rgba = new byte[w * h * 4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 4;
                bool left = x < w / 2;
                rgba[o] = (byte)(left ? 20 * i : 200);
                rgba[o + 1] = (byte)(left ? 100 : 200 - 15 * i);
                rgba[o + 2] = (byte)(left ? 180 : 40);
                rgba[o + 3] = 255;
            }
        return rgba;
    }

    [Test, Category(TestTools.Category)]
    public void Frames_DecodeBackToWhatWasWritten()
    {
        var ffmpeg = Find("ffmpeg");
        TestTools.Require(ffmpeg != null, "ffmpeg is not installed");
        const int w = 64, h = 32, n = 8;
        var path = Path.Combine(dir, "frames.mp4");
        using (var writer = Mp4Writer.TryStart(path, w, h, 30, out var why))
        {
            Assert.That(writer, Is.Not.Null, why);
            for (int i = 0; i < n; i++) writer!.Write(Frame(i, w, h));
            Assert.That(() => writer!.Write(new byte[10]), Throws.ArgumentException);
            writer!.Finish();
            Assert.That(writer.Frames, Is.EqualTo(n));
        }
        // Decode with ffmpeg back to raw RGBA and compare frame by frame.
        var info = new ProcessStartInfo(ffmpeg!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgba", "-" }) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var errors = p.StandardError.ReadToEndAsync();
        using var decoded = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(decoded);
        if (!p.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Assert.Fail("ffmpeg did not decode the file within a minute");
        }
        Assert.That(Task.WaitAll(new Task[] { copy, errors }, TimeSpan.FromSeconds(30)), Is.True, "ffmpeg exited, its output closes");
        Assert.That(p.ExitCode, Is.Zero, errors.Result);
        var bytes = decoded.ToArray();
        Assert.That(bytes.Length, Is.EqualTo(n * w * h * 4), "every frame, at its size");
        for (int i = 0; i < n; i++)
        {
            var want = Frame(i, w, h);
            double error = 0;
            for (int k = 0; k < want.Length; k++) error += Math.Abs(bytes[i * want.Length + k] - want[k]);
            Assert.That(error / want.Length / 255, Is.LessThan(LossyAgreement), $"frame {i}");
        }
    }

    [Test, Category(TestTools.Category)]
    public void AnOddSize_IsPaddedToEven()
    {
        TestTools.Require(Find("ffmpeg") != null, "ffmpeg is not installed");
        var path = Path.Combine(dir, "odd.mp4");
        using var writer = Mp4Writer.TryStart(path, 33, 21, 30, out var why);
        Assert.That(writer, Is.Not.Null, why);
        for (int i = 0; i < 3; i++) writer!.Write(new byte[33 * 21 * 4]);
        writer!.Finish();
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(0));
    }
}

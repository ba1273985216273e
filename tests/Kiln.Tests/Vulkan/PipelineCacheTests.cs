using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>The on-disk pipeline cache file: its header checks, and what a context does with a bad or a good file.</summary>
public sealed class PipelineCacheFileTests
{
    static readonly DeviceInfo Device = new()
    {
        Name = "test device",
        VendorId = 0x10005,
        DeviceId = 42,
        DriverVersion = 0x00401000,
        PipelineCacheUuid = new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
    };

    static readonly byte[] Data = Enumerable.Range(0, 300).Select(i => (byte)(i * 31 + 7)).ToArray();

    static string? Rejection(DeviceInfo d, byte[] file)
    {
        var data = PipelineCacheFile.Unwrap(d, file, out var why);
        Assert.That(data, Is.Null, "the file should have been rejected");
        return why;
    }

    [Test]
    public void WrapThenUnwrap_ReturnsTheData()
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        Assert.That(file.Length, Is.GreaterThan(Data.Length));
        var back = PipelineCacheFile.Unwrap(Device, file, out var why);
        Assert.That(why, Is.Null);
        Assert.That(back, Is.EqualTo(Data));
    }

    [Test]
    public void WrapThenUnwrap_OfNoData_ReturnsNoData()
    {
        var back = PipelineCacheFile.Unwrap(Device, PipelineCacheFile.Wrap(Device, ReadOnlySpan<byte>.Empty), out var why);
        Assert.That(why, Is.Null);
        Assert.That(back, Is.Empty);
    }

    [Test]
    public void Unwrap_IgnoresTheDeviceIndexAndName()
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        Assert.That(PipelineCacheFile.Unwrap(Device with { Index = 3, Name = "same device, other slot" }, file, out _), Is.EqualTo(Data));
    }

    [Test]
    public void WrongMagic_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        file[0] ^= 0xff;
        Assert.That(Rejection(Device, file), Does.Contain("not a Kiln pipeline cache"));
    }

    [Test]
    public void AFileShorterThanTheHeader_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device, Data)[..40];
        Assert.That(Rejection(Device, file), Does.Contain("not a Kiln pipeline cache"));
        Assert.That(Rejection(Device, Array.Empty<byte>()), Does.Contain("not a Kiln pipeline cache"));
    }

    [Test]
    public void Garbage_IsRejected()
    {
        var garbage = Enumerable.Range(0, 1000).Select(i => (byte)(i * 13)).ToArray();
        Assert.That(Rejection(Device, garbage), Does.Contain("not a Kiln pipeline cache"));
    }

    [Test]
    public void AFileFromAnotherDeviceId_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device with { DeviceId = 43 }, Data);
        Assert.That(Rejection(Device, file), Does.Contain("another device"));
    }

    [Test]
    public void AFileFromAnotherVendor_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device with { VendorId = 0x10de }, Data);
        Assert.That(Rejection(Device, file), Does.Contain("another device"));
    }

    [Test]
    public void AFileFromAnotherDriverVersion_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device with { DriverVersion = Device.DriverVersion + 1 }, Data);
        Assert.That(Rejection(Device, file), Does.Contain("another driver version"));
    }

    [Test]
    public void AFileForAnotherPipelineCacheUuid_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device with { PipelineCacheUuid = Guid.NewGuid() }, Data);
        Assert.That(Rejection(Device, file), Does.Contain("another pipeline-cache UUID"));
    }

    [Test]
    public void ATruncatedFile_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        Assert.That(Rejection(Device, file[..^1]), Does.Contain("truncated"));
        Assert.That(Rejection(Device, file[..^Data.Length]), Does.Contain("truncated"));
    }

    [Test]
    public void AFileWithBytesAppended_IsRejected()
    {
        var file = PipelineCacheFile.Wrap(Device, Data).Concat(new byte[] { 1, 2, 3 }).ToArray();
        Assert.That(Rejection(Device, file), Does.Contain("truncated"));
    }

    [TestCase(0)]
    [TestCase(150)]
    [TestCase(299)]
    public void AFlippedDataByte_FailsTheChecksum(int index)
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        file[file.Length - Data.Length + index] ^= 0x01;
        Assert.That(Rejection(Device, file), Does.Contain("checksum"));
    }

    [Test]
    public void AFlippedChecksumByte_FailsTheChecksum()
    {
        var file = PipelineCacheFile.Wrap(Device, Data);
        file[file.Length - Data.Length - 1] ^= 0x80; // last byte of the SHA-256 in the header
        Assert.That(Rejection(Device, file), Does.Contain("checksum"));
    }

    [Test]
    public void FileName_NamesTheCacheUuidAndDriverVersion()
    {
        var name = PipelineCacheFile.FileName(Device);
        Assert.That(name, Does.Contain(Device.PipelineCacheUuid.ToString("N")).And.Contain("00401000").And.EndWith(".bin"));
        Assert.That(PipelineCacheFile.FileName(Device with { DriverVersion = 1 }), Is.Not.EqualTo(name));
        Assert.That(PipelineCacheFile.FileName(Device with { PipelineCacheUuid = Guid.NewGuid() }), Is.Not.EqualTo(name));
    }

    [Test]
    public void ResolveDirectory_AnEmptyStringTurnsTheDiskCacheOff_AndAFolderIsUsedAsIs()
    {
        Assert.That(PipelineCacheFile.ResolveDirectory(""), Is.Null);
        Assert.That(PipelineCacheFile.ResolveDirectory("/some/folder"), Is.EqualTo("/some/folder"));
    }
}

/// <summary>Contexts loading and saving the pipeline cache file in a folder of their own.</summary>
public sealed class PipelineCacheContextTests
{
    string dir = "";
    readonly List<string> log = new();

    [SetUp]
    public void MakeFolder()
    {
        dir = Path.Combine(Path.GetTempPath(), $"kiln-cache-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        lock (log) log.Clear();
    }

    [TearDown]
    public void RemoveFolder()
    {
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }

    GpuContext NewContext() => GpuContext.Create(Gpu.Options with
    {
        PipelineCacheDirectory = dir,
        Log = s => { lock (log) log.Add(s); TestContext.Progress.WriteLine("kiln: " + s); },
    });

    List<string> Warnings()
    {
        lock (log) return log.ToList();
    }

    static void RunGoldenConv(GpuContext ctx)
    {
        var c = ConvKernel.Golden;
        using var x = Tensor.From(ctx, c.XShape, ConvKernel.GoldenX, "x");
        using var w = Tensor.From(ctx, c.WShape, ConvKernel.GoldenW, "w");
        using var y = new Tensor(ctx, c.YShape, name: "y");
        using (var list = ctx.CreateCommandList())
        {
            ConvKernel.Record(list.Recorder, c, x, w, w, y);
            list.Run();
        }
        Assert.That(y.ToArray(), Is.EqualTo(ConvKernel.GoldenY));
    }

    static void AssertCleanAndDispose(GpuContext ctx)
    {
        Assert.That(ctx.LiveObjects(), Is.Empty);
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
        ctx.Dispose();
    }

    string CachePath(GpuContext ctx) => Path.Combine(dir, PipelineCacheFile.FileName(ctx.Info));

    [Test]
    public void ACorruptCacheFile_IsIgnoredWithAWarning_AndKernelsStillRun_AndItIsReplacedByAGoodOne()
    {
        string path = Path.Combine(dir, PipelineCacheFile.FileName(Gpu.Context.Info));
        var garbage = Enumerable.Range(0, 4096).Select(i => (byte)(i * 151 + 3)).ToArray();
        File.WriteAllBytes(path, garbage);

        var ctx = NewContext();
        try
        {
            Assert.That(CachePath(ctx), Is.EqualTo(path), "the test wrote the file this context reads");
            var warnings = Warnings();
            Assert.That(warnings.Any(m => m.Contains("ignoring pipeline cache") && m.Contains(path)), Is.True,
                "a warning names the rejected file; log: " + string.Join(" | ", warnings));
            Assert.That(warnings, Has.Some.Contains("not a Kiln pipeline cache"));
            RunGoldenConv(ctx);
        }
        finally { AssertCleanAndDispose(ctx); }

        var saved = File.ReadAllBytes(path);
        Assert.That(saved, Is.Not.EqualTo(garbage));
        Assert.That(PipelineCacheFile.Unwrap(Gpu.Context.Info, saved, out var why), Is.Not.Null, $"the saved file is valid ({why})");
        Assert.That(Directory.GetFiles(dir), Has.Length.EqualTo(1), "no temporary file is left beside the cache");
    }

    [Test]
    public void ACacheFileForThisDeviceWithAFlippedByte_IsIgnoredWithTheChecksumReason()
    {
        string path = Path.Combine(dir, PipelineCacheFile.FileName(Gpu.Context.Info));
        var file = PipelineCacheFile.Wrap(Gpu.Context.Info, Enumerable.Range(0, 64).Select(i => (byte)i).ToArray());
        file[^1] ^= 0x10;
        File.WriteAllBytes(path, file);
        var ctx = NewContext();
        try
        {
            Assert.That(Warnings(), Has.Some.Contains("checksum"));
            RunGoldenConv(ctx);
        }
        finally { AssertCleanAndDispose(ctx); }
    }

    [Test]
    public void AContextThatRanAKernel_LeavesAValidFile_ThatTheNextContextLoadsWithoutAWarning()
    {
        var first = NewContext();
        string path;
        try
        {
            path = CachePath(first);
            Assert.That(File.Exists(path), Is.False);
            RunGoldenConv(first);
        }
        finally { AssertCleanAndDispose(first); }

        Assert.That(File.Exists(path), Is.True, "disposing the context saved the cache");
        var data = PipelineCacheFile.Unwrap(Gpu.Context.Info, File.ReadAllBytes(path), out var why);
        Assert.That(data, Is.Not.Null, $"the saved file is valid ({why})");
        Assert.That(data!.Length, Is.GreaterThan(0), "the driver's cache data is inside");
        Assert.That(Warnings(), Is.Empty, "a fresh folder is no reason for a warning");

        var second = NewContext();
        try
        {
            Assert.That(Warnings(), Is.Empty, "the saved cache loads without a warning");
            RunGoldenConv(second);
        }
        finally { AssertCleanAndDispose(second); }
        Assert.That(Warnings(), Is.Empty);
        Assert.That(PipelineCacheFile.Unwrap(Gpu.Context.Info, File.ReadAllBytes(path), out _), Is.Not.Null);
    }

    [Test]
    public void AContextThatRanNoKernel_WritesNoFile()
    {
        var ctx = NewContext();
        try
        {
            using var t = Tensor.From(ctx, new Shape(4), new float[] { 1, 2, 3, 4 }, "t");
        }
        finally { AssertCleanAndDispose(ctx); }
        Assert.That(Directory.GetFiles(dir), Is.Empty);
    }

    [Test]
    public void AnEmptyCacheDirectory_TurnsTheDiskCacheOff()
    {
        var ctx = GpuContext.Create(Gpu.Options with { PipelineCacheDirectory = "", Log = s => { lock (log) log.Add(s); } });
        try { RunGoldenConv(ctx); }
        finally { AssertCleanAndDispose(ctx); }
        Assert.That(Warnings(), Is.Empty);
    }
}

using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>
/// The sub-allocator: tensors are ranges of a few large blocks, freed ranges are merged and reused, nothing
/// leaks, and Kiln's own memory limit fails cleanly.
/// </summary>
public sealed class AllocatorTests : GpuTest
{
    /// <summary>One live allocation of the churn test and the bytes it should hold.</summary>
    sealed class Live
    {
        public Tensor? Tensor;
        public BufferAllocation? Raw;
        public byte[] Data = Array.Empty<byte>();

        public void Dispose()
        {
            Tensor?.Dispose();
            Raw?.Dispose();
        }

        public byte[] Read(GpuContext context)
        {
            if (Tensor != null)
            {
                var f = new float[Tensor.Elements];
                Tensor.Download(f);
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
            }
            var b = new byte[Data.Length];
            context.Transfers.Download(Raw!, b);
            return b;
        }
    }

    /// <summary>Log-uniform sizes from 4 bytes to 4 MiB, most of them small, as in a real network.</summary>
    static int NextSize(Random r) => (int)Math.Round(Math.Pow(2, 2 + r.NextDouble() * 20));

    [Test]
    public void ManyMixedAllocationsAndFrees_KeepSurvivorsIntact_ReuseBlocks_AndLeaveNothingBehind()
    {
        var allocator = Context.Allocator;
        long startBytes = Context.AllocatedBytes;
        int startBlocks = allocator.BlockCount;
        var r = new Random(12345);
        var live = new List<Live>();
        long liveBytes = 0;
        int maxBlocks = startBlocks, allocations = 0, frees = 0;
        const long LiveCap = 40L << 20; // keep well inside one 64 MiB block's worth of live data

        try
        {
            for (int step = 0; step < 500; step++)
            {
                bool free = live.Count > 0 && (r.NextDouble() < 0.45 || liveBytes > LiveCap || live.Count > 60);
                if (free)
                {
                    int i = r.Next(live.Count);
                    var victim = live[i];
                    live.RemoveAt(i);
                    liveBytes -= victim.Data.Length;
                    victim.Dispose();
                    frees++;
                }
                else
                {
                    int bytes = NextSize(r);
                    var a = new Live();
                    if (r.Next(2) == 0)
                    {
                        // A tensor of whole, finite floats (no NaN payloads to muddle a bitwise comparison).
                        var f = new float[Math.Max(1, bytes / 4)];
                        for (int k = 0; k < f.Length; k++) f[k] = (float)(r.NextDouble() * 1e6 - 5e5);
                        a.Data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
                        a.Tensor = new Tensor(Context, new Shape(f.Length), name: $"churn {step}");
                        a.Tensor.Upload(f);
                    }
                    else
                    {
                        // A raw allocation of any byte count (the allocator rounds to 4).
                        var data = new byte[bytes];
                        r.NextBytes(data);
                        a.Data = data;
                        a.Raw = allocator.Allocate(bytes, $"raw churn {step}");
                        Assert.That(a.Raw.Size, Is.GreaterThanOrEqualTo((ulong)bytes).And.LessThan((ulong)bytes + 4));
                        Assert.That(a.Raw.Offset % 256, Is.Zero, "ranges start on the storage-buffer offset alignment");
                        Context.Transfers.Upload(a.Raw, data);
                    }
                    live.Add(a);
                    liveBytes += a.Data.Length;
                    allocations++;
                }
                maxBlocks = Math.Max(maxBlocks, allocator.BlockCount);

                if (step % 100 == 99)
                    foreach (var s in live)
                        Assert.That(s.Read(Context).AsSpan().SequenceEqual(s.Data), Is.True, $"contents of a surviving allocation after {step + 1} steps");
            }
            TestContext.Out.WriteLine($"{allocations} allocations, {frees} frees, {live.Count} survivors ({liveBytes} bytes), blocks: start {startBlocks}, max {maxBlocks}");
            Assert.That(allocations, Is.GreaterThan(200));
            Assert.That(frees, Is.GreaterThan(150));
            NoTwoLiveRangesOverlap(live);
            foreach (var s in live)
                Assert.That(s.Read(Context).AsSpan().SequenceEqual(s.Data), Is.True, "contents of a surviving allocation at the end");
            Assert.That(maxBlocks, Is.LessThanOrEqualTo(Math.Max(startBlocks, 1) + 2), "blocks are reused, not made per allocation");
        }
        finally
        {
            foreach (var s in live) s.Dispose();
        }

        Assert.That(Context.AllocatedBytes, Is.EqualTo(startBytes), "every byte was given back");
        Assert.That(Context.LiveObjects(), Is.Empty);
        Assert.That(allocator.BlockCount, Is.LessThanOrEqualTo(Math.Max(startBlocks, 1)), "emptied extra blocks are destroyed");

        // Freed ranges merged back: the whole first block is one free range again.
        if (startBytes != 0) return;
        using var whole = new Tensor(Context, new Shape((int)((64L << 20) / 4)), name: "whole block");
        Assert.That(allocator.BlockCount, Is.LessThanOrEqualTo(Math.Max(startBlocks, 1)), "a block-sized tensor fits the merged free space");
    }

    [Test]
    public void WithSmallBlocks_BlocksAreMadeOnDemand_AndEmptiedOnesAreDestroyed()
    {
        using var ctx = GpuContext.Create(Gpu.Options with { BlockBytes = 1 << 20, PipelineCacheDirectory = "" });
        var r = new Random(777);
        var live = new List<BufferAllocation>();
        int maxBlocks = 0;
        try
        {
            for (int step = 0; step < 400; step++)
            {
                if (live.Count > 0 && (r.NextDouble() < 0.45 || live.Count > 40))
                {
                    int i = r.Next(live.Count);
                    live[i].Dispose();
                    live.RemoveAt(i);
                }
                else
                    live.Add(ctx.Allocator.Allocate(NextSize(r) / 2, $"small-block churn {step}"));
                maxBlocks = Math.Max(maxBlocks, ctx.Allocator.BlockCount);
                // Never more blocks than live allocations (plus the first, kept even when empty).
                Assert.That(ctx.Allocator.BlockCount, Is.LessThanOrEqualTo(live.Count + 1));
            }
            Assert.That(maxBlocks, Is.GreaterThan(1), "1 MiB blocks and allocations up to 2 MiB need several blocks");
            NoTwoLiveRangesOverlap(live);
            long sum = live.Sum(a => (long)a.Size);
            Assert.That(ctx.AllocatedBytes, Is.EqualTo(sum));

            // Survivors hold their own data, whichever block they are in.
            var data = live.Select((a, i) => Enumerable.Range(0, (int)a.Size).Select(k => (byte)(k * 7 + i)).ToArray()).ToList();
            for (int i = 0; i < live.Count; i++) ctx.Transfers.Upload(live[i], data[i]);
            for (int i = 0; i < live.Count; i++)
            {
                var back = new byte[live[i].Size];
                ctx.Transfers.Download(live[i], back);
                Assert.That(back, Is.EqualTo(data[i]));
            }
        }
        finally
        {
            foreach (var a in live) a.Dispose();
        }
        Assert.That(ctx.AllocatedBytes, Is.Zero);
        Assert.That(ctx.Allocator.BlockCount, Is.EqualTo(1), "only the first block is kept once everything is freed");
        Assert.That(ctx.LiveObjects(), Is.Empty);
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }

    static void NoTwoLiveRangesOverlap(IEnumerable<BufferAllocation> live)
    {
        var ranges = live
            .GroupBy(a => a.Block)
            .SelectMany(g => g.OrderBy(a => a.Offset).Zip(g.OrderBy(a => a.Offset).Skip(1)));
        foreach (var (a, b) in ranges)
            Assert.That(a.Offset + a.Size, Is.LessThanOrEqualTo(b.Offset), $"{a.Describe()} overlaps {b.Describe()}");
    }

    static void NoTwoLiveRangesOverlap(List<Live> live) => NoTwoLiveRangesOverlap(live.Select(l => l.Tensor?.Storage ?? l.Raw!));

    [Test]
    public void FreedRange_IsReusedByTheNextAllocationOfTheSameSize()
    {
        var first = new Tensor(Context, new Shape(1000), name: "first");
        var block = first.Storage.Block;
        var offset = first.Storage.Offset;
        using var keeper = new Tensor(Context, new Shape(10), name: "keeper");
        first.Dispose();
        using var second = new Tensor(Context, new Shape(1000), name: "second");
        Assert.That(second.Storage.Block, Is.SameAs(block));
        Assert.That(second.Storage.Offset, Is.EqualTo(offset));
    }

    [Test]
    public void AllocatedBytes_CountsRoundedSizes_AndDropsOnDispose()
    {
        long start = Context.AllocatedBytes;
        using (var raw = Context.Allocator.Allocate(5, "five bytes"))
        {
            Assert.That(raw.Size, Is.EqualTo(8UL));
            Assert.That(Context.AllocatedBytes, Is.EqualTo(start + 8));
            using var t = new Tensor(Context, new Shape(3), ElementType.F16, name: "three halves");
            Assert.That(Context.AllocatedBytes, Is.EqualTo(start + 8 + 8));
        }
        Assert.That(Context.AllocatedBytes, Is.EqualTo(start));
    }

    [TestCase(0L)]
    [TestCase(-1L)]
    [TestCase(long.MinValue)]
    public void ZeroOrNegativeSize_Throws(long bytes)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Context.Allocator.Allocate(bytes, "bad buffer"));
        Assert.That(e!.Message, Does.Contain("bad buffer").And.Contain(bytes.ToString()));
    }

    [Test]
    public void MoreThanTheDevicesLargestStorageBuffer_ThrowsOutOfMemory()
    {
        long tooBig = (long)Context.Info.MaxStorageBufferRange + 4;
        var e = Assert.Throws<GpuOutOfMemoryException>(() => Context.Allocator.Allocate(tooBig, "huge buffer"));
        Assert.That(e!.RequestedBytes, Is.EqualTo(tooBig));
        Assert.That(e.Message, Does.Contain("huge buffer"));
    }

    [Test]
    public void MemoryLimit_ThrowsOutOfMemoryNamingAskedAndFreeBytes_AndTheContextStaysUsable()
    {
        const long Limit = 1 << 20;
        var log = new List<string>();
        using var ctx = GpuContext.Create(Gpu.Options with { MemoryLimitBytes = Limit, PipelineCacheDirectory = "", Log = s => { lock (log) log.Add(s); } });
        var half = new Tensor(ctx, new Shape(128 * 1024), name: "half"); // 512 KiB
        try
        {
            var e = Assert.Throws<GpuOutOfMemoryException>(() => new Tensor(ctx, new Shape(192 * 1024), name: "too much")); // 768 KiB
            Assert.That(e!.RequestedBytes, Is.EqualTo(768 * 1024));
            Assert.That(e.FreeBytes, Is.EqualTo(512 * 1024));
            Assert.That(e.Message, Does.Contain("too much").And.Contain("786432").And.Contain("524288").And.Contain(Limit.ToString()));
            Assert.That(e, Is.InstanceOf<KilnException>());
            Assert.That(ctx.AllocatedBytes, Is.EqualTo(512 * 1024), "the failed allocation took nothing");

            // Still usable: what fits under the limit allocates, uploads and computes.
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
        finally
        {
            half.Dispose();
        }
        // Freeing makes room again.
        using (var big = new Tensor(ctx, new Shape(256 * 1024), name: "whole limit"))
            Assert.That(ctx.AllocatedBytes, Is.EqualTo(Limit));
        Assert.Throws<GpuOutOfMemoryException>(() => ctx.Allocator.Allocate(Limit + 4, "over the limit"));
        Assert.That(ctx.AllocatedBytes, Is.Zero);
        Assert.That(ctx.LiveObjects(), Is.Empty);
        Assert.That(ctx.TakeValidationMessages(), Is.Empty);
    }
}

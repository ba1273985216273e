namespace Kiln.Cli.Bench;

/// <summary>The text table of `kiln bench`: one row per workload, and with --kernels each dispatch's share and roofline.</summary>
internal static class BenchTable
{
    /// <summary>The workload column: the longest id with its " (nhwc)" mark.</summary>
    const int NameWidth = -42;

    public static void PrintHeader(bool peer)
    {
        Console.WriteLine();
        Console.WriteLine($"{"workload",NameWidth} {"GPU ms",10} {"host ms",10} {"TFLOP/s",9} {"of limit",9} {"disp",5} {"compile ms",10}" +
                          (peer ? $" {"peer ms",9} {"Kiln/peer",9}" : ""));
    }

    public static void PrintRow(BenchResult r, bool peer)
    {
        if (r.Error != null)
        {
            Console.WriteLine($"{r.Workload,NameWidth} failed: {r.Error}");
            return;
        }
        string limit = r.FractionOfLimit is { } f ? $"{100 * f:0.0}%" : "unknown";
        string name = r.Layout == "nhwc" ? $"{r.Workload} (nhwc)" : r.Workload;
        // A bandwidth workload's throughput in GB/s, and its fraction of the copy bandwidth.
        string rate = r.GBps is { } g ? $"{g:0} GB/s" : Tflops(r.Tflops);
        Console.WriteLine($"{name,NameWidth} {Ms(r.GpuMs),10} {Ms(r.HostMs),10} {rate,9} {limit,9} {r.Dispatches,5} {Ms(r.CompileMs),10}" +
                          (peer ? $" {Ms(r.PeerMs),9} {Num(r.RatioToPeer, "0.00"),9}" : ""));
    }

    public static void PrintKernels(BenchResult r)
    {
        if (r.Kernels == null || r.Kernels.Count == 0) return;
        Console.WriteLine($"    {"dispatch",-34} {"kernel",-44} {"median ms",10} {"min ms",10} {"share",6} {"TFLOP/s",8} {"GB/s",8} {"roofline",8} {"bound",7}");
        foreach (var k in r.Kernels)
        {
            string roofline = k.FractionOfRoofline is { } f ? $"{100 * f:0.0}%" : "?";
            Console.WriteLine($"    {k.Label,-34} {k.Kernel,-44} {k.Ms,10:0.0000} {k.MinMs,10:0.0000} {100 * k.Share,5:0.0}% " +
                              $"{(k.Flops > 0 ? Tflops(k.Tflops) : "-"),8} {k.GBps,8:0.0} {roofline,8} {k.BoundBy ?? "?",7}");
        }
        Console.WriteLine($"    sum of dispatches {Ms(r.GpuDispatchSumMs)} ms of a {Ms(r.GpuMs)} ms span (the rest: barriers and gaps)");
        Console.WriteLine("    roofline: the time the limits allow a dispatch (its FLOPs at the compute limit or the bytes of the values it binds at " +
                          "the copy bandwidth, whichever is longer) over its time; bound: which of the two");
    }

    static string Ms(double? v) => v is { } x ? x.ToString(x >= 100 ? "0.0" : "0.000") : "-";
    static string Tflops(double? v) => v is { } x ? (x >= 1 ? x.ToString("0.00") : x.ToString("G3")) : "-";
    static string Num(double? v, string format) => v is { } x ? x.ToString(format) : "-";
}

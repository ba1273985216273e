using System.Text.Json;

namespace Kiln.Cli;

/// <summary>`kiln info [--json]`: the devices, the one Kiln chooses, and its compute features.</summary>
internal static class InfoCommand
{
    public static int Run(string[] args)
    {
        bool json = args.Contains("--json");
        foreach (var a in args)
            if (a != "--json") return CliApp.Fail($"info: unknown option '{a}'");
        var devices = GpuContext.EnumerateDevices();
        using var context = GpuContext.Create();
        var chosen = context.Info;
        if (json)
        {
            var doc = new { devices, chosen = chosen.Index, device = chosen };
            Console.WriteLine(JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine("Vulkan devices:");
        foreach (var d in devices)
            Console.WriteLine($"  {(d.Index == chosen.Index ? "*" : " ")} {d.Index}: {d.Name} ({d.Type}, Vulkan {d.ApiVersion}, {d.DriverName} {d.DriverInfo})");
        var c = chosen;
        Console.WriteLine();
        Console.WriteLine($"chosen: {c.Name}");
        Console.WriteLine($"  subgroup size              {c.SubgroupSize}");
        Console.WriteLine($"  shared memory / workgroup  {c.MaxSharedMemoryBytes / 1024} KiB");
        Console.WriteLine($"  push constants             {c.MaxPushConstantsBytes} bytes");
        Console.WriteLine($"  workgroup invocations      {c.MaxWorkgroupInvocations} (size {string.Join("x", c.MaxWorkgroupSize)})");
        Console.WriteLine($"  max storage buffer         {c.MaxStorageBufferRange / (1 << 20)} MiB");
        Console.WriteLine($"  fp16 arithmetic            {YesNo(c.ShaderFloat16)}");
        Console.WriteLine($"  16-bit storage             {YesNo(c.StorageBuffer16BitAccess)}");
        Console.WriteLine($"  cooperative matrix         {YesNo(c.CooperativeMatrix)}{(c.CooperativeMatrixUnavailable is { } why ? $" ({why})" : "")}");
        foreach (var s in c.CooperativeMatrixShapes) Console.WriteLine($"    {s}");
        var scope = c.CooperativeMatrix2WorkgroupScope
            ? $"workgroup scope, workgroups up to {c.CooperativeMatrix2MaxWorkgroupSize}, {c.CooperativeMatrix2ReservedSharedMemory} bytes of shared memory reserved"
            : "subgroup scope only";
        var lacks = c.CooperativeMatrix2Missing.Count > 0 ? $"; without {string.Join(", ", c.CooperativeMatrix2Missing)}" : "";
        Console.WriteLine($"  cooperative matrix 2 (NV)  {YesNo(c.CooperativeMatrix2)}" + (c.CooperativeMatrix2
            ? $" ({scope}, dimensions up to {c.CooperativeMatrix2MaxDimension}{lacks})"
            : c.CooperativeMatrix2Missing.Count > 0 ? $" (VK_NV_cooperative_matrix2 without {string.Join(", ", c.CooperativeMatrix2Missing)})" : ""));
        foreach (var s in c.CooperativeMatrix2Shapes) Console.WriteLine($"    {s}");
        Console.WriteLine($"  timestamps                 {(c.TimestampPeriodNs > 0 ? $"{c.TimestampPeriodNs} ns/tick" : "no")}");
        Console.WriteLine($"  memory budget extension    {YesNo(c.MemoryBudget)}");
        foreach (var h in c.MemoryHeaps)
            Console.WriteLine($"  heap {h.Index}: {h.SizeBytes / (1 << 20)} MiB{(h.DeviceLocal ? " device-local" : "")}");
        return 0;
    }

    static string YesNo(bool b) => b ? "yes" : "no";
}

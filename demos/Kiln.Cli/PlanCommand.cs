using System.Text.Json;
using Kiln.Cli.Bench;
using Kiln.Models;

namespace Kiln.Cli;

/// <summary>
/// `kiln plan MODEL [--size WxH] [--batch N] [--train] [--precision fp32|fp16] [--layout nchw|nhwc] [--device this|nvidia]
/// [--prefer ENTRY,...] [--json]`: the compiled graph of a built-in network, untuned, on this machine's device or (--device
/// nvidia) on a description of an NVIDIA H100 or H200 as its Vulkan driver reports it, so a plan for a GPU (its kernels,
/// barriers and memory) can be read on a machine without one; --prefer names kernel entries to run where they can
/// (CompileOptions.PreferKernels), as `kiln bench --prefer` does. MODEL may also be a `kiln bench` workload id
/// (BENCHMARKS.md's, e.g. mlp_64x4_b262144_train_step): that workload at its full size, as the bench compiles it
/// (its shapes, training step and optimizer; --size, --batch and --train do not apply).
/// </summary>
internal static class PlanCommand
{
    /// <summary>An NVIDIA H100 or H200 through Vulkan (driver 580): 32-wide subgroups, 16x16x16 f16 cooperative matrices,
    /// 48 KiB of shared memory and 1024 invocations per workgroup, f16 arithmetic and storage.</summary>
    internal static readonly DeviceInfo Nvidia = new()
    {
        Name = "NVIDIA H100/H200 (a description: planned, not run)", Type = "DiscreteGpu", SubgroupSize = 32,
        ShaderFloat16 = true, StorageBuffer16BitAccess = true,
        CooperativeMatrix = true, CooperativeMatrixShapes = new[] { DeviceInfo.CooperativeMatrixShape(16) },
        MaxSharedMemoryBytes = 49152, MaxWorkgroupInvocations = 1024,
        MaxWorkgroupCount = new[] { 2147483647u, 65535u, 65535u }, MaxStorageBufferRange = 1UL << 32,
    };

    public static int Run(string[] args)
    {
        string? model = null;
        int width = 256, height = 256, batch = 1;
        bool train = false, json = false, nvidia = false, sized = false;
        var precision = Precision.Fp32;
        var layout = TensorLayout.Nchw;
        var prefer = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--train": train = sized = true; break;
                case "--json": json = true; break;
                case "--precision" when i + 1 < args.Length: precision = CliApp.ParsePrecision("plan", args[++i]); break;
                case "--layout" when i + 1 < args.Length: layout = CliApp.ParseLayout("plan", args[++i]); break;
                case "--prefer" when i + 1 < args.Length: prefer.AddRange(CliApp.ParseEntries("plan", args[++i])); break;
                case "--device" when i + 1 < args.Length:
                    nvidia = args[++i] switch
                    {
                        "this" => false,
                        "nvidia" => true,
                        _ => throw new ArgumentException($"plan: --device takes this or nvidia, got '{args[i]}'"),
                    };
                    break;
                case "--size" when i + 1 < args.Length:
                    var parts = args[++i].Split('x');
                    if (parts.Length != 2 || !int.TryParse(parts[0], out width) || !int.TryParse(parts[1], out height) || width <= 0 || height <= 0)
                        return CliApp.Fail($"plan: --size takes WxH, e.g. 1280x720; got '{args[i]}'");
                    sized = true;
                    break;
                case "--batch" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], out batch) || batch <= 0) return CliApp.Fail($"plan: --batch takes a positive number, got '{args[i]}'");
                    sized = true;
                    break;
                default:
                    if (args[i].StartsWith("-") || model != null) return CliApp.Fail($"plan: unexpected argument '{args[i]}'");
                    model = args[i];
                    break;
            }
        }
        if (model == null)
            return CliApp.Fail($"plan: name a model ({string.Join(", ", ModelCatalog.Names)}) or a bench workload ({string.Join(", ", BenchWorkloads.Known.Select(w => w.Id))})");
        Network net;
        IReadOnlyDictionary<string, Shape> inputs;
        CompileOptions options;
        if (BenchWorkloads.Known.FirstOrDefault(w => w.Id == model) is { } workload)
        {
            if (sized) return CliApp.Fail($"plan: {model} is a bench workload of fixed shapes and step; --size, --batch and --train do not apply");
            var setup = workload.Build(BenchSize.Full);
            (net, inputs, train) = (setup.Network, setup.Inputs, setup.Options.Training);
            // As `kiln bench` compiles it (at fp16 with f16 inputs and outputs, say).
            options = new BenchCompile { Precision = precision, Prefer = prefer, Layout = layout }.Apply(setup.Options);
        }
        else if (!ModelCatalog.Names.Contains(model))
            return CliApp.Fail($"plan: unknown model '{model}'; built-in models: {string.Join(", ", ModelCatalog.Names)}; bench workloads: {string.Join(", ", BenchWorkloads.Known.Select(w => w.Id))}");
        else
        {
            Dictionary<string, Shape> shapes;
            (net, shapes) = ModelCatalog.Build(model, width, height, batch, train);
            inputs = shapes;
            options = new CompileOptions { InputShapes = shapes, Training = train, Precision = precision, ActivationLayout = layout, PreferKernels = prefer };
        }
        var device = nvidia ? Nvidia : GpuContext.ChooseDevice();
        var plan = net.Plan(device, options);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                model,
                inputs = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()),
                training = train,
                precision = precision == Precision.Fp16 ? "fp16" : "fp32",
                layout = layout.ToString().ToLowerInvariant(),
                device = device.Name,
                dispatches = plan.Dispatches,
                barriers = plan.Barriers,
                planned_bytes = plan.PlannedBytes,
                naive_bytes = plan.NaiveBytes,
                arena_bytes = plan.ArenaBytes,
                persistent_bytes = plan.PersistentBytes,
                parameters = plan.ParameterCount,
                warnings = plan.Warnings,
            }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"{model} {(train ? "training step" : "inference")} at {(precision == Precision.Fp16 ? "fp16" : "fp32")}" +
                          $"{(layout == TensorLayout.Nhwc ? ", NHWC activations," : "")} for " +
                          $"{string.Join(", ", inputs.Select(kv => $"{kv.Key} {kv.Value}"))} on {device.Name}, untuned");
        Console.WriteLine($"{"level",5}  {"phase",-8} {"dispatch",-34} {"kernel",-30} {"groups",-12} {"GFLOP",8} {"MB",8}");
        int level = -1;
        foreach (var d in plan.Dispatches)
        {
            if (d.Level != level && level >= 0) Console.WriteLine("       -- barrier --");
            level = d.Level;
            Console.WriteLine($"{d.Level,5}  {d.Phase,-8} {d.Label,-34} {d.Kernel,-30} {d.Groups,-12} {(d.Flops > 0 ? (d.Flops / 1e9).ToString("0.000") : "-"),8} {d.Bytes / 1e6,8:0.00}");
        }
        Console.WriteLine();
        Console.WriteLine($"dispatches      {plan.Dispatches.Count}");
        Console.WriteLine($"barriers        {plan.Barriers}");
        Console.WriteLine($"parameters      {plan.ParameterCount}");
        Console.WriteLine($"flops           {plan.Dispatches.Sum(d => d.Flops) / 1e9:0.000} GFLOP (2 per multiply-add of the convolutions and products)");
        Console.WriteLine($"bytes           {plan.Dispatches.Sum(d => d.Bytes) / 1e6:0.0} MB bound by the dispatches (each value once per direction)");
        Console.WriteLine($"planned_bytes   {plan.PlannedBytes} ({Mib(plan.PlannedBytes)}: {Mib(plan.PersistentBytes)} persistent + {Mib(plan.ArenaBytes)} shared arena)");
        Console.WriteLine($"naive_bytes     {plan.NaiveBytes} ({Mib(plan.NaiveBytes)}, every tensor on its own)");
        foreach (var w in plan.Warnings) Console.WriteLine($"warning: can't run on this device: {w}");
        return 0;
    }

    static string Mib(long b) => $"{b / (1024.0 * 1024.0):0.0} MiB";
}

using System.Text.Json;
using Kiln.Models;

namespace Kiln.Cli;

/// <summary>`kiln plan MODEL [--size WxH] [--batch N] [--train] [--json]`: the compiled graph of a built-in network.</summary>
internal static class PlanCommand
{
    public static int Run(string[] args)
    {
        string? model = null;
        int width = 256, height = 256, batch = 1;
        bool train = false, json = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--train": train = true; break;
                case "--json": json = true; break;
                case "--size" when i + 1 < args.Length:
                    var parts = args[++i].Split('x');
                    if (parts.Length != 2 || !int.TryParse(parts[0], out width) || !int.TryParse(parts[1], out height) || width <= 0 || height <= 0)
                        return CliApp.Fail($"plan: --size takes WxH, e.g. 1280x720; got '{args[i]}'");
                    break;
                case "--batch" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], out batch) || batch <= 0) return CliApp.Fail($"plan: --batch takes a positive number, got '{args[i]}'");
                    break;
                default:
                    if (args[i].StartsWith("-") || model != null) return CliApp.Fail($"plan: unexpected argument '{args[i]}'");
                    model = args[i];
                    break;
            }
        }
        if (model == null) return CliApp.Fail($"plan: name a model: {string.Join(", ", ModelCatalog.Names)}");
        var (net, inputs) = ModelCatalog.Build(model, width, height, batch, train);
        var device = GpuContext.ChooseDevice();
        var plan = net.Plan(device, new CompileOptions { InputShapes = inputs, Training = train });
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                model,
                inputs = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()),
                training = train,
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
        Console.WriteLine($"{model} {(train ? "training step" : "inference")} for {string.Join(", ", inputs.Select(kv => $"{kv.Key} {kv.Value}"))} on {device.Name}");
        Console.WriteLine($"{"level",5}  {"phase",-8} {"dispatch",-34} {"kernel",-30} groups");
        int level = -1;
        foreach (var d in plan.Dispatches)
        {
            if (d.Level != level && level >= 0) Console.WriteLine("       -- barrier --");
            level = d.Level;
            Console.WriteLine($"{d.Level,5}  {d.Phase,-8} {d.Label,-34} {d.Kernel,-30} {d.Groups}");
        }
        Console.WriteLine();
        Console.WriteLine($"dispatches      {plan.Dispatches.Count}");
        Console.WriteLine($"barriers        {plan.Barriers}");
        Console.WriteLine($"parameters      {plan.ParameterCount}");
        Console.WriteLine($"planned_bytes   {plan.PlannedBytes} ({Mib(plan.PlannedBytes)}: {Mib(plan.PersistentBytes)} persistent + {Mib(plan.ArenaBytes)} shared arena)");
        Console.WriteLine($"naive_bytes     {plan.NaiveBytes} ({Mib(plan.NaiveBytes)}, every tensor on its own)");
        foreach (var w in plan.Warnings) Console.WriteLine($"warning: can't run on this device: {w}");
        return 0;
    }

    static string Mib(long b) => $"{b / (1024.0 * 1024.0):0.0} MiB";
}

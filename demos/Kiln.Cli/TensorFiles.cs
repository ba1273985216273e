using Kiln.IO;

namespace Kiln.Cli;

/// <summary>Reads and writes the f32 safetensors files `kiln run` and `kiln grad` take and give.</summary>
internal static class TensorFiles
{
    /// <summary>The tensors of <paramref name="path"/> named in <paramref name="names"/>; a missing one is an error naming the file.</summary>
    public static Dictionary<string, (Shape Shape, float[] Data)> Read(string path, IEnumerable<string> names, string what)
    {
        var (tensors, _) = Safetensors.Read(path);
        var result = new Dictionary<string, (Shape, float[])>();
        foreach (var name in names)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new KilnException($"{path}: no tensor '{name}' ({what}); the file holds: {string.Join(", ", tensors.Keys.DefaultIfEmpty("nothing"))}.");
            Shape shape;
            try { shape = new Shape(t.Shape); }
            catch (ArgumentException e) { throw new KilnException($"{path}: tensor '{name}': {e.Message}"); }
            if (shape.Rank == 0) throw new KilnException($"{path}: tensor '{name}' is a scalar; Kiln tensors have a batch dimension.");
            result[name] = (shape, t.ToFloats());
        }
        return result;
    }

    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors)
    {
        try { Safetensors.Write(path, tensors); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KilnException($"{path}: can't write ({e.Message}).");
        }
    }

    /// <summary>
    /// Runs a command so that even an error no check anticipated reaches the user as one line (CliApp prints
    /// KilnException, ArgumentException and IO errors); the exception type is kept in the message for a bug report.
    /// </summary>
    public static int OneLineErrors(Func<int> command)
    {
        try { return command(); }
        catch (Exception e) when (e is not (KilnException or ArgumentException or IOException or UnauthorizedAccessException or OutOfMemoryException))
        {
            throw new KilnException($"unexpected {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Parses `--name value` options; returns an error message or null.</summary>
    public static string? Options(string command, string[] args, string[] allowed, out string? model, out Dictionary<string, string> options)
    {
        model = null;
        options = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--"))
            {
                var key = args[i][2..];
                if (!allowed.Contains(key)) return $"{command}: unknown option '{args[i]}'";
                if (i + 1 >= args.Length) return $"{command}: {args[i]} needs a value";
                options[key] = args[++i];
            }
            else if (model != null) return $"{command}: unexpected argument '{args[i]}'";
            else model = args[i];
        }
        if (model == null) return $"{command}: name a model file (ONNX, or a checkpoint of kiln train)";
        foreach (var key in allowed)
            if (key is not ("loss" or "mask") && !options.ContainsKey(key)) return $"{command}: --{key} FILE is required";
        return null;
    }
}

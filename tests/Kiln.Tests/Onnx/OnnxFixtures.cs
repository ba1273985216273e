using Kiln.IO;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Onnx;

/// <summary>
/// The models of tests/fixtures/make_onnx_fixtures.py: each exported at opsets 11, 13 and 17, with one safetensors
/// file of its input "x", PyTorch's output "y", a "target", and per loss ("mse/", "l1/") the loss and gradients.
/// </summary>
public static class OnnxFixtures
{
    public static readonly string[] Models = { "mlp", "convnet", "unet", "gelu_softmax", "broadcast_attention" };
    public static readonly int[] Opsets = { 11, 13, 17 };

    public static string Folder => Path.Combine(Fixture.FolderPath, "onnx");
    public static string ModelPath(string model, int opset) => Path.Combine(Folder, $"{model}_op{opset}.onnx");
    public static string DataPath(string model) => Path.Combine(Folder, $"{model}.safetensors");

    public static IReadOnlyDictionary<string, SafetensorsTensor> Data(string model) => Safetensors.Read(DataPath(model)).Tensors;

    public static IEnumerable<TestCaseData> Cases() =>
        from m in Models from o in Opsets select new TestCaseData(m, o).SetName($"{{m}}({m}, opset {o})");

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs the `kiln` command line in process; returns the exit code and what it wrote to stderr.</summary>
    public static (int Code, string Stderr) Cli(params string[] args)
    {
        var previous = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try
        {
            int code = Kiln.Cli.CliApp.Run(args);
            return (code, err.ToString());
        }
        finally { Console.SetError(previous); }
    }
}

using System.Reflection;
using NUnit.Framework;

namespace Kiln.Tests.Shaders;

/// <summary>
/// Every SPIR-V module embedded in the Kiln assembly ("Kiln.Shaders/&lt;module&gt;.spv") passes
/// <c>spirv-val --target-env vulkan1.2</c>: one test case per module. Modules in SPIR-V 1.6, which only the
/// shader variants that ask for TargetEnv="vulkan1.3" produce (GL_NV_cooperative_matrix2 needs it), are
/// validated as vulkan1.3. The validator is
/// tools/shaderc/bin/spirv-val when tools/setup-shader-toolchain.sh has provided it (it understands
/// cooperative-matrix modules), else spirv-val on PATH.
/// </summary>
[TestFixture]
public sealed class SpirvValidationTests
{
    const string Prefix = "Kiln.Shaders/";
    const string Suffix = ".spv";

    static Assembly Kiln => Assembly.Load("Kiln");

    static IEnumerable<string> ResourceNames() =>
        Kiln.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(Suffix, StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal);

    static string ModuleOf(string resource) => resource[Prefix.Length..^Suffix.Length];

    public static IEnumerable<TestCaseData> Modules() =>
        ResourceNames().Select(r => new TestCaseData(ModuleOf(r)).SetArgDisplayNames(ModuleOf(r)));

    [Test]
    public void TheAssemblyEmbedsShaderModules()
    {
        var names = ResourceNames().ToList();
        Assert.That(names, Is.Not.Empty,
            $"the Kiln assembly embeds no '{Prefix}*{Suffix}' resources; are shaders/Shaders.targets imported and shaders/**/*.comp present? " +
            $"Resources found: {string.Join(", ", Kiln.GetManifestResourceNames())}");
    }

    [TestCaseSource(nameof(Modules))]
    public void ModuleIsValidSpirv(string module)
    {
        string validator = SpirvTools.Find("spirv-val");

        string dir = Path.Combine(Path.GetTempPath(), "kiln-spirv-val-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, module.Replace('/', '_') + Suffix);
            using (var resource = Kiln.GetManifestResourceStream(Prefix + module + Suffix)
                                  ?? throw new InvalidOperationException($"resource {Prefix}{module}{Suffix} vanished"))
            using (var output = File.Create(file))
                resource.CopyTo(output);

            byte[] bytes = File.ReadAllBytes(file);
            Assert.That(bytes.Length >= 20 && bytes.Length % 4 == 0, Is.True,
                $"{module}: the embedded module ({bytes.Length} bytes) is not a plausible SPIR-V binary (a header of 5 words and whole 32-bit words)");

            string targetEnv = TargetEnvFor(bytes);
            var (exit, text) = SpirvTools.Run(validator, "--target-env", targetEnv, file);
            Assert.That(exit, Is.EqualTo(0),
                $"spirv-val --target-env {targetEnv} rejects shader module '{module}' (validator: {validator}):\n{text}");
            Assert.That(LaidOutFunctionVariables(SpirvTools.Run(SpirvTools.Find("spirv-dis"), file).Output), Is.Empty,
                $"{module}: a function-local variable whose type carries an explicit layout (ArrayStride), which newer validators reject " +
                "(glslang gives a local array the type of a same-sized push-constant or buffer array: make it another type or drop it)");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// The types of Function-storage variables that carry an ArrayStride decoration: explicit layout on the Function storage
    /// class, which newer validators reject (the validation layer 1.4.363 of Debian sid) and the ones here (SPIRV-Tools
    /// 2025.1, the layer 1.4.309) do not yet.
    /// </summary>
    static List<string> LaidOutFunctionVariables(string disassembly)
    {
        var strided = System.Text.RegularExpressions.Regex.Matches(disassembly, @"OpDecorate (%\w+) ArrayStride").Select(m => m.Groups[1].Value).ToHashSet();
        var pointee = System.Text.RegularExpressions.Regex.Matches(disassembly, @"(%\w+) = OpTypePointer Function (%\w+)")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        return System.Text.RegularExpressions.Regex.Matches(disassembly, @"= OpVariable (%\w+) Function").Select(m => m.Groups[1].Value)
            .Where(p => pointee.TryGetValue(p, out var t) && strided.Contains(t)).Select(p => pointee[p]).Distinct().ToList();
    }

    /// <summary>vulkan1.2, or vulkan1.3 for a SPIR-V 1.6 module (header word 1 holds the version, 0x00MMmm00).</summary>
    static string TargetEnvFor(byte[] spirv)
    {
        uint magic = BitConverter.ToUInt32(spirv, 0);
        if (magic != 0x07230203)
            return "vulkan1.2"; // let spirv-val report the bad (or byte-swapped) module
        uint version = BitConverter.ToUInt32(spirv, 4);
        return version >= 0x00010600 ? "vulkan1.3" : "vulkan1.2";
    }
}

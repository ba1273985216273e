using NUnit.Framework;

namespace Kiln.Tests;

/// <summary>
/// The one Vulkan context the whole suite shares (creating a device per test would dominate the run on
/// lavapipe): validation and synchronization validation always on, a private pipeline-cache folder.
/// </summary>
[SetUpFixture]
public sealed class Gpu
{
    static GpuContext? shared;
    static readonly List<string> log = new();

    public static string CacheDirectory { get; } = Path.Combine(Path.GetTempPath(), "kiln-tests-" + Environment.ProcessId);

    public static GpuContext Context => shared ?? throw new InvalidOperationException("The GPU fixture did not start.");

    /// <summary>Options every test context uses; tests that make a context of their own start from these.</summary>
    public static ContextOptions Options => new()
    {
        Validation = true,
        SynchronizationValidation = true,
        PipelineCacheDirectory = CacheDirectory,
        Log = s => { lock (log) log.Add(s); TestContext.Progress.WriteLine("kiln: " + s); },
    };

    [OneTimeSetUp]
    public void Start()
    {
        Environment.SetEnvironmentVariable("XDG_RUNTIME_DIR", Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") ?? Path.GetTempPath());
        shared = GpuContext.Create(Options);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        shared?.Dispose();
        shared = null;
        try { Directory.Delete(CacheDirectory, true); } catch (IOException) { }
    }
}

/// <summary>
/// Base of tests that use the GPU: after each test, the validation layer must have said nothing and every
/// Vulkan object the test made must be gone.
/// </summary>
public abstract class GpuTest
{
    protected static GpuContext Context => Gpu.Context;

    [SetUp]
    public void ClearValidation() => Context.TakeValidationMessages();

    [TearDown]
    public void CheckValidationAndLeaks()
    {
        Context.WaitIdle();
        var messages = Context.TakeValidationMessages();
        Assert.That(messages, Is.Empty, "the Vulkan validation layer reported problems");
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Passed)
            Assert.That(Context.LiveObjects(), Is.Empty, "Vulkan objects made by this test are still alive");
    }
}

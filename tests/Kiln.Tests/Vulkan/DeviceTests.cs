using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Vulkan;

/// <summary>Finding and choosing Vulkan devices, on this machine's devices.</summary>
public sealed class DeviceTests
{
    static GpuContext Create(string device) => GpuContext.Create(Gpu.Options with { Device = device, PipelineCacheDirectory = "" });

    static void CheckAndDispose(GpuContext ctx)
    {
        try
        {
            using var t = Tensor.From(ctx, new Shape(3), new float[] { 1, 2, 3 }, "t");
            Assert.That(t.ToArray(), Is.EqualTo(new float[] { 1, 2, 3 }));
        }
        finally
        {
            Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            ctx.Dispose();
        }
    }

    [Test]
    public void EnumerateDevices_FindsAtLeastOne_IndexedInOrder()
    {
        var devices = GpuContext.EnumerateDevices();
        Assert.That(devices, Is.Not.Empty);
        for (int i = 0; i < devices.Count; i++)
        {
            Assert.That(devices[i].Index, Is.EqualTo(i));
            Assert.That(devices[i].Name, Is.Not.Empty);
        }
    }

    [Test]
    public void DeviceInfo_DescribesAUsableComputeDevice()
    {
        var d = Gpu.Context.Info;
        Assert.That(d.Name, Is.Not.Empty);
        Assert.That(d.Type, Is.AnyOf("DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu", "Other"));
        Assert.That(d.IsCpu, Is.EqualTo(d.Type == "Cpu"));
        Assert.That(Version.Parse(d.ApiVersion), Is.GreaterThanOrEqualTo(new Version(1, 2)), "Kiln asks for Vulkan 1.2");
        Assert.That(d.SubgroupSize, Is.GreaterThan(0u));
        Assert.That(uint.IsPow2(d.SubgroupSize), Is.True);
        Assert.That(d.MaxWorkgroupInvocations, Is.GreaterThanOrEqualTo(128u), "Vulkan guarantees 128");
        Assert.That(d.MaxWorkgroupSize, Has.Length.EqualTo(3).And.All.GreaterThan(0u));
        Assert.That(d.MaxWorkgroupCount, Has.Length.EqualTo(3).And.All.GreaterThanOrEqualTo(65535u));
        Assert.That(d.MaxSharedMemoryBytes, Is.GreaterThanOrEqualTo(16384u));
        Assert.That(d.MaxPushConstantsBytes, Is.GreaterThanOrEqualTo(128u));
        Assert.That(d.MaxStorageBufferRange, Is.GreaterThanOrEqualTo(1UL << 27));
        Assert.That(d.MinStorageBufferOffsetAlignment, Is.GreaterThan(0UL));
        Assert.That(ulong.IsPow2(d.MinStorageBufferOffsetAlignment), Is.True);
        Assert.That(d.PipelineCacheUuid, Is.Not.EqualTo(Guid.Empty));
        Assert.That(d.MemoryHeaps, Is.Not.Empty);
        Assert.That(d.MemoryHeaps.Any(h => h.DeviceLocal && h.SizeBytes > 0), Is.True, "a device-local heap");
        Assert.That(d.TimestampPeriodNs, Is.GreaterThanOrEqualTo(0f));
        if (d.CooperativeMatrix) Assert.That(d.CooperativeMatrixShapes, Is.Not.Empty);
    }

    [Test]
    public void EnumeratedInfo_MatchesTheContextsInfo()
    {
        var ctx = Gpu.Context.Info;
        var listed = GpuContext.EnumerateDevices()[ctx.Index];
        Assert.That(listed.Name, Is.EqualTo(ctx.Name));
        Assert.That(listed.PipelineCacheUuid, Is.EqualTo(ctx.PipelineCacheUuid));
        Assert.That(listed.SubgroupSize, Is.EqualTo(ctx.SubgroupSize));
    }

    [Test]
    public void DeviceByIndex_SelectsThatDevice()
    {
        var first = GpuContext.EnumerateDevices()[0];
        var ctx = Create("0");
        Assert.That(ctx.Info.Index, Is.EqualTo(0));
        Assert.That(ctx.Info.Name, Is.EqualTo(first.Name));
        Assert.That(ctx.IsAdopted, Is.False);
        Assert.That(ctx.ValidationEnabled, Is.True);
        CheckAndDispose(ctx);
    }

    [Test]
    public void DeviceByNameSubstring_SelectsThatDevice_IgnoringCase()
    {
        var first = GpuContext.EnumerateDevices()[0];
        var part = first.Name.Length > 4 ? first.Name.Substring(1, 4) : first.Name;
        var ctx = Create(part.ToUpperInvariant());
        Assert.That(ctx.Info.Name, Does.Contain(part));
        CheckAndDispose(ctx);
        Assert.That(GpuContext.ChooseDevice(part).Name, Does.Contain(part));
    }

    [TestCase("99")]
    [TestCase("-1")]
    [TestCase("no such device, surely")]
    public void AnUnknownDevice_ThrowsListingTheDevices(string selector)
    {
        var devices = GpuContext.EnumerateDevices();
        var e = Assert.Throws<KilnException>(() => Create(selector).Dispose());
        Assert.That(e!.Message, Does.Contain(selector));
        foreach (var d in devices) Assert.That(e.Message, Does.Contain(d.Name));
        Assert.Throws<KilnException>(() => GpuContext.ChooseDevice(selector));
    }

    [Test]
    public void ChooseDevice_WithoutASelector_IsTheDeviceTheSharedContextUses()
    {
        Assume.That(Environment.GetEnvironmentVariable("KILN_DEVICE"), Is.Null.Or.Empty, "KILN_DEVICE chooses another device");
        Assert.That(GpuContext.ChooseDevice().Index, Is.EqualTo(Gpu.Context.Info.Index));
    }
}

/// <summary>The choice among devices, on made-up device lists: no GPU needed.</summary>
public sealed class DeviceChoiceTests
{
    static DeviceInfo D(int index, string name, string type, int minor = 3) =>
        new() { Index = index, Name = name, Type = type, Api = new Version(1, minor, 0), ApiVersion = $"1.{minor}.0" };

    static readonly DeviceInfo[] Machine =
    {
        D(0, "llvmpipe (LLVM 15.0.6, 256 bits)", "Cpu"),
        D(1, "Intel(R) UHD Graphics 630", "IntegratedGpu"),
        D(2, "NVIDIA GeForce RTX 4090", "DiscreteGpu"),
    };

    [Test]
    public void WithoutASelector_ADiscreteGpuWins_ThenIntegrated_ThenCpu()
    {
        Assert.That(DeviceQuery.Choose(Machine, null), Is.EqualTo(2));
        Assert.That(DeviceQuery.Choose(Machine[..2], null), Is.EqualTo(1));
        Assert.That(DeviceQuery.Choose(Machine[..1], null), Is.EqualTo(0));
        Assert.That(DeviceQuery.Choose(Machine, "  "), Is.EqualTo(2), "a blank selector is no selector");
    }

    [Test]
    public void AnIndex_SelectsThatDevice()
    {
        Assert.That(DeviceQuery.Choose(Machine, "0"), Is.EqualTo(0));
        Assert.That(DeviceQuery.Choose(Machine, "1"), Is.EqualTo(1));
    }

    [Test]
    public void ANameSubstring_SelectsTheFirstDeviceContainingIt_IgnoringCase()
    {
        Assert.That(DeviceQuery.Choose(Machine, "llvmpipe"), Is.EqualTo(0));
        Assert.That(DeviceQuery.Choose(Machine, "rtx"), Is.EqualTo(2));
        Assert.That(DeviceQuery.Choose(Machine, "G"), Is.EqualTo(1), "the first match, in enumeration order");
    }

    [Test]
    public void ABadIndexOrName_ThrowsListingEveryDevice()
    {
        foreach (var selector in new[] { "3", "-1", "radeon" })
        {
            var e = Assert.Throws<KilnException>(() => DeviceQuery.Choose(Machine, selector));
            Assert.That(e!.Message, Does.Contain(selector));
            foreach (var d in Machine) Assert.That(e.Message, Does.Contain($"{d.Index} {d.Name}"));
        }
    }

    /// <summary>Kiln's shaders need Vulkan 1.2: an older device is passed over, and naming it says why it cannot run.</summary>
    [Test]
    public void ADeviceOlderThanVulkan12_IsPassedOver_AndNamingItThrows()
    {
        DeviceInfo[] machine = { D(0, "llvmpipe", "Cpu"), D(1, "Old Mobile GPU", "IntegratedGpu", minor: 1) };
        Assert.That(DeviceQuery.Choose(machine, null), Is.EqualTo(0), "the Vulkan 1.3 CPU device, not the Vulkan 1.1 GPU");
        foreach (var selector in new[] { "1", "mobile" })
        {
            var e = Assert.Throws<KilnException>(() => DeviceQuery.Choose(machine, selector));
            Assert.That(e!.Message, Does.Contain("Old Mobile GPU has Vulkan 1.1.0").And.Contain("needs Vulkan 1.2"));
        }
        var none = Assert.Throws<KilnException>(() => DeviceQuery.Choose(machine[1..], null));
        Assert.That(none!.Message, Does.Contain("No Vulkan device has Vulkan 1.2").And.Contain("1 Old Mobile GPU (Vulkan 1.1.0)"));
    }

    /// <summary>
    /// The rule <see cref="GpuContext.Adopt"/> applies to a host's device, and its message. Only the rule: that Adopt calls
    /// it is not tested, since no device here reports Vulkan 1.1 (lavapipe ignores MESA_VK_VERSION_OVERRIDE).
    /// </summary>
    [Test]
    public void AHostsDeviceOlderThanVulkan12_IsRefusedSayingSo()
    {
        DeviceInfo[] machine = { D(0, "llvmpipe", "Cpu"), D(1, "Old Mobile GPU", "IntegratedGpu", minor: 1) };
        var adopted = Assert.Throws<KilnException>(() => DeviceQuery.RequireMinimumApi(machine[1], GpuContext.HostDeviceContext));
        Assert.That(adopted!.Message, Does.StartWith("GpuContext.Adopt: the host's device: Old Mobile GPU has Vulkan 1.1.0").And.Contain("needs Vulkan 1.2"));
        Assert.DoesNotThrow(() => DeviceQuery.RequireMinimumApi(machine[0], GpuContext.HostDeviceContext));
    }

    /// <summary>Cooperative matrices need the extension's feature and the Vulkan memory model, not the extension alone.</summary>
    [Test]
    public void CooperativeMatrices_NeedTheFeatureAndTheMemoryModel()
    {
        Assert.That(DeviceQuery.CooperativeMatrixUnavailable(extension: false, feature: false, memoryModel: false), Is.Null, "no extension: nothing to explain");
        Assert.That(DeviceQuery.CooperativeMatrixUnavailable(true, true, true), Is.Null);
        Assert.That(DeviceQuery.CooperativeMatrixUnavailable(true, false, true), Does.Contain("without its cooperativeMatrix feature"));
        Assert.That(DeviceQuery.CooperativeMatrixUnavailable(true, true, false), Does.Contain("without the Vulkan memory model"));
    }

    [Test]
    public void NoDevices_ThrowsSayingHowToGetOne()
    {
        var e = Assert.Throws<KilnException>(() => DeviceQuery.Choose(Array.Empty<DeviceInfo>(), null));
        Assert.That(e!.Message, Does.Contain("No Vulkan device").And.Contain("mesa-vulkan-drivers"));
    }
}

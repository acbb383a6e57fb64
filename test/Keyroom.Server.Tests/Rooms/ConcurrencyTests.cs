using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Protocol;
using Keyroom.Server.Rooms;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

/// <summary>A server with room for many calls in flight and small outgoing chunks (17 packets per 64 KiB reply), to make interleaving visible if it ever happened.</summary>
public sealed class ConcurrencyFixture : RoomsFixture
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Keyroom:Rooms:MaxPendingRequestsPerConnection"] = "256",
        ["Keyroom:Rooms:SendChunkSize"] = "4096",
    };
}

/// <summary>A server with tight limits: 4 calls in flight per connection, request timeouts clamped to 1 s.</summary>
public sealed class TightLimitsFixture : RoomsFixture
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Keyroom:Rooms:MaxPendingRequestsPerConnection"] = "4",
        ["Keyroom:Rooms:MaxRequestTimeoutSeconds"] = "1",
        ["Keyroom:Rooms:DefaultRequestTimeoutSeconds"] = "1",
    };
}

public sealed class ConcurrencyTests : IClassFixture<ConcurrencyFixture>
{
    private readonly ConcurrencyFixture _fixture;

    public ConcurrencyTests(ConcurrencyFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    [Fact]
    public async Task GetSecret_200ConcurrentCallsOf64KiBValues_AllAnsweredCorrectlyWithoutInterleaving()
    {
        var room = RoomTesting.Unique("conc");
        await using var client = await Server.JoinAsync("alice", room);
        var values = Enumerable.Range(0, 8).Select(_ => RoomTesting.RandomBytes(64 * 1024)).ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            Assert.IsType<EmptyContent>(await client.SetSecretAsync("s" + i, values[i]));
        }

        var calls = Enumerable.Range(0, 200).Select(async n =>
        {
            var index = n % values.Length;
            var file = Assert.IsType<FileContent>(await client.GetSecretAsync("s" + index));
            Assert.Equal("s" + index, file.Name);
            Assert.True(file.Data.Span.SequenceEqual(values[index]), $"call {n}: wrong bytes");
        });
        await Task.WhenAll(calls);

        Assert.Null(client.ReceiveFailure);
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task ConcurrentCalls_OnManyConnections_AreAnsweredOnTheirOwnConnection()
    {
        var room = RoomTesting.Unique("conc");
        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Server.JoinAsync("user" + i, room)));
        try
        {
            await Task.WhenAll(clients.Select((c, i) => c.SetSecretAsync("mine", RoomTesting.Utf8("value of " + i))));
            await Task.WhenAll(clients.SelectMany((c, i) => Enumerable.Range(0, 25).Select(async _ =>
            {
                var file = Assert.IsType<FileContent>(await c.GetSecretAsync("mine"));
                Assert.Equal("value of " + i, System.Text.Encoding.UTF8.GetString(file.Data.Span));
            })));
            Assert.All(clients, c => Assert.Null(c.ReceiveFailure));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Metrics_ReportConnectionsAndParticipantsPerRoom()
    {
        var room = RoomTesting.Unique("metrics");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await alice.SecretsAsync("list_secrets", []);

        var connections = 0;
        var participants = -1;
        var toolCalls = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RoomMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "keyroom.rooms.connections")
            {
                connections += value;
            }
            else if (instrument.Name == "keyroom.rooms.participants" && Tag(tags, "keyroom.room") == room)
            {
                participants = value;
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            if (instrument.Name == "keyroom.rooms.tool_call.duration" && Tag(tags, "keyroom.tool") == "list_secrets")
            {
                Interlocked.Increment(ref toolCalls);
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.True(connections >= 2, $"connections gauge {connections}");
        Assert.Equal(2, participants);

        await bob.SecretsAsync("list_secrets", []);

        // The duration is recorded once the reply has been written, so the client can see the reply first.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref toolCalls) < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(Volatile.Read(ref toolCalls) >= 1, "no tool_call.duration measurement for list_secrets within 10 s");
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}

public sealed class TightLimitsTests : IClassFixture<TightLimitsFixture>
{
    private readonly TightLimitsFixture _fixture;

    public TightLimitsTests(TightLimitsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    [Fact]
    public async Task InvokeTool_BeyondMaxPendingRequests_Error1006UntilACallFinishes()
    {
        var room = RoomTesting.Unique("limit");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        // Four requests that wait for bob (he never answers; they time out after the clamped 1 s).
        var waiting = Enumerable.Range(0, 4)
            .Select(i => alice.SecretsAsync("request_secret", new JsonObject { ["url"] = "https://x/" + i, ["type"] = "t", ["participant_id"] = bob.ParticipantId, ["timeout"] = 300 }))
            .ToArray();
        for (var i = 0; i < 4; i++)
        {
            await bob.NextPushAsync(MessageTypes.RequestSecret);
        }

        Assert.Equal("too many pending requests", (await alice.SecretsAsync("list_secrets", [])).AssertError(ErrorCodes.InvalidState));

        // The timeout of 300 s was clamped to the configured maximum of 1 s.
        foreach (var reply in await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken))
        {
            reply.AssertError(ErrorCodes.Timeout);
        }

        Assert.IsType<JsonContent>(await alice.SecretsAsync("list_secrets", []));
    }
}

public sealed class RoomShutdownTests
{
    [Fact]
    public async Task StopServer_WithOpenConnections_ClosesThemWith1001()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var room = RoomTesting.Unique("stop");
        await using var client = await server.JoinAsync("alice", room);

        var stopping = server.StopAsync();

        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, await client.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        await stopping.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}

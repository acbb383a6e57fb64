using System.Diagnostics.Metrics;

namespace Keyroom.Server.Rooms;

/// <summary>
/// Room metrics on the "Keyroom.Rooms" meter: open connections, live rooms and participants per room
/// (observable gauges), tool call durations, rejected connections and protocol violations.
/// </summary>
internal sealed class RoomMetrics
{
    public const string MeterName = "Keyroom.Rooms";

    private readonly Histogram<double> _toolCalls;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _protocolErrors;

    public RoomMetrics(IMeterFactory meterFactory, RoomHub hub)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("keyroom.rooms.connections", () => hub.ConnectionCount, "{connection}", "Open room WebSocket connections.");
        meter.CreateObservableGauge("keyroom.rooms.active", () => hub.RoomCount, "{room}", "Rooms with at least one participant.");
        meter.CreateObservableGauge(
            "keyroom.rooms.participants",
            () => hub.Rooms.Select(room => new Measurement<int>(
                room.Count,
                new KeyValuePair<string, object?>("keyroom.project", room.ProjectId),
                new KeyValuePair<string, object?>("keyroom.room", room.Name))),
            "{participant}",
            "Participants per live room.");
        _toolCalls = meter.CreateHistogram<double>("keyroom.rooms.tool_call.duration", "s", "Duration of room.invoke_tool calls, by toolkit, tool and result code.");
        _rejected = meter.CreateCounter<long>("keyroom.rooms.connections.rejected", "{connection}", "Room connections refused at the upgrade, by reason.");
        _protocolErrors = meter.CreateCounter<long>("keyroom.rooms.protocol_errors", "{violation}", "Connections closed for breaking the framing, by kind.");
    }

    public void ToolCall(string toolkit, string tool, int? errorCode, TimeSpan elapsed) =>
        _toolCalls.Record(
            elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("keyroom.toolkit", toolkit),
            new KeyValuePair<string, object?>("keyroom.tool", tool),
            new KeyValuePair<string, object?>("keyroom.result", errorCode is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "ok"));

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("keyroom.reason", reason));

    public void ProtocolError(string kind) => _protocolErrors.Add(1, new KeyValuePair<string, object?>("keyroom.kind", kind));
}

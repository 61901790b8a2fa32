namespace Anima.Perception.Training;

/// <summary>
/// Featurized examples in compressed sparse rows: row r's features are
/// Indices[RowStarts[r]..RowStarts[r+1]) with Values alongside. Labels are a bit mask (up to 64 labels).
/// </summary>
internal sealed class SparseDataset
{
    private int[] _rowStarts = new int[1024];
    private int[] _indices = new int[1 << 16];
    private float[] _values = new float[1 << 16];
    private ulong[] _labels = new ulong[1024];
    private float[] _targets = new float[1024];
    private byte[] _sources = new byte[1024];
    private int _featureCount;

    public int Count { get; private set; }

    public void Add(FeatureBuffer features, ulong labelMask, float target, byte source)
    {
        if (Count + 2 > _rowStarts.Length)
        {
            var size = _rowStarts.Length * 2;
            Array.Resize(ref _rowStarts, size);
            Array.Resize(ref _labels, size);
            Array.Resize(ref _targets, size);
            Array.Resize(ref _sources, size);
        }

        var needed = _featureCount + features.Count;
        if (needed > _indices.Length)
        {
            var size = Math.Max(needed, _indices.Length * 2);
            Array.Resize(ref _indices, size);
            Array.Resize(ref _values, size);
        }

        features.FeatureIndices.CopyTo(_indices.AsSpan(_featureCount));
        features.FeatureValues.CopyTo(_values.AsSpan(_featureCount));
        _rowStarts[Count] = _featureCount;
        _featureCount = needed;
        _labels[Count] = labelMask;
        _targets[Count] = target;
        _sources[Count] = source;
        Count++;
        _rowStarts[Count] = _featureCount;
    }

    public ReadOnlySpan<int> RowIndices(int row) => _indices.AsSpan(_rowStarts[row], _rowStarts[row + 1] - _rowStarts[row]);

    public ReadOnlySpan<float> RowValues(int row) => _values.AsSpan(_rowStarts[row], _rowStarts[row + 1] - _rowStarts[row]);

    public ulong Labels(int row) => _labels[row];

    public bool HasLabel(int row, int label) => (_labels[row] & (1UL << label)) != 0;

    public float Target(int row) => _targets[row];

    public byte Source(int row) => _sources[row];

    public long FeatureCount => _featureCount;
}

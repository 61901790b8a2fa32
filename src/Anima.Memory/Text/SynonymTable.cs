using System.Globalization;
using System.Text;

namespace Anima.Memory.Text;

/// <summary>
/// English synonyms for query expansion, keyed by <see cref="MemoryTextAnalyzer"/> term: for each word, the other
/// single-word lemmas of its most frequent WordNet sense. Generated from an installed WordNet 3.0 database
/// (<see cref="FromWordNet"/>, Debian's <c>wordnet-base</c>) and stored as a small text file, one
/// <c>term&lt;TAB&gt;synonym synonym…</c> a line.
/// </summary>
public sealed class SynonymTable
{
    /// <summary>The most synonyms kept per word (the first ones WordNet lists in the sense).</summary>
    public const int MaxSynonymsPerWord = 4;

    private readonly Dictionary<string, string[]> _synonyms;

    private SynonymTable(Dictionary<string, string[]> synonyms) => _synonyms = synonyms;

    /// <summary>The number of words that have synonyms.</summary>
    public int Count => _synonyms.Count;

    /// <summary>The synonyms (surface words) of an analysed term, or none.</summary>
    public IReadOnlyList<string> Of(string term) => _synonyms.TryGetValue(term, out var synonyms) ? synonyms : [];

    /// <summary>
    /// The synonyms of <paramref name="queryTerms"/> (analysed terms) as text to search for: each synonym whose own term
    /// is not already among the query's terms, once.
    /// </summary>
    public string Expand(IReadOnlyList<string> queryTerms)
    {
        ArgumentNullException.ThrowIfNull(queryTerms);
        var seen = new HashSet<string>(queryTerms, StringComparer.Ordinal);
        var builder = new StringBuilder();
        foreach (var term in queryTerms)
        {
            foreach (var synonym in Of(term))
            {
                var synonymTerms = MemoryTextAnalyzer.Analyze(synonym);
                if (synonymTerms.Count == 1 && seen.Add(synonymTerms[0]))
                {
                    builder.Append(synonym).Append(' ');
                }
            }
        }

        return builder.ToString().TrimEnd();
    }

    /// <summary>
    /// Builds the table from a WordNet 3.0 database folder (<c>index.noun</c>, <c>data.noun</c>, … as in
    /// <c>/usr/share/wordnet</c>). Only a word's first sense (WordNet orders senses by frequency in its tagged corpus)
    /// and only when that sense was seen in the tagged corpus; one part of speech per word; only single-word lemmas; no
    /// hypernyms or other relations.
    /// </summary>
    public static SynonymTable FromWordNet(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var merged = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        // A term is taken from one lemma and part of speech only, the first of noun, verb, adjective, adverb with a
        // tagged sense: "dog" the animal (no single-word synonym), not the verb "to dog" (chase) nor "dogged".
        var decided = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pos in new[] { "noun", "verb", "adj", "adv" })
        {
            var indexPath = Path.Combine(directory, "index." + pos);
            var dataPath = Path.Combine(directory, "data." + pos);
            if (!File.Exists(indexPath) || !File.Exists(dataPath))
            {
                throw new FileNotFoundException($"WordNet file missing: {indexPath} or {dataPath} (install wordnet-base, or give its folder).");
            }

            using var data = new FileStream(dataPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            foreach (var line in File.ReadLines(indexPath))
            {
                if (line.Length == 0 || line[0] == ' ')
                {
                    continue; // the licence header
                }

                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
                var lemma = fields[0];
                var pointers = int.Parse(fields[3], CultureInfo.InvariantCulture);
                var taggedSenses = int.Parse(fields[5 + pointers], CultureInfo.InvariantCulture);
                if (taggedSenses == 0 || lemma.Contains('_', StringComparison.Ordinal))
                {
                    continue;
                }


                var keyTerms = MemoryTextAnalyzer.Analyze(lemma.Replace('-', ' '));
                if (keyTerms.Count != 1 || !decided.Add(keyTerms[0]))
                {
                    continue;
                }

                var offset = long.Parse(fields[6 + pointers], CultureInfo.InvariantCulture);
                foreach (var word in SynsetWords(data, offset))
                {
                    if (word.Contains('_', StringComparison.Ordinal) || word.Contains('-', StringComparison.Ordinal) || string.Equals(word, lemma, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var wordTerms = MemoryTextAnalyzer.Analyze(word);
                    if (wordTerms.Count != 1 || string.Equals(wordTerms[0], keyTerms[0], StringComparison.Ordinal))
                    {
                        continue;
                    }

                    if (!merged.TryGetValue(keyTerms[0], out var list))
                    {
                        list = [];
                        merged[keyTerms[0]] = list;
                    }

                    if (list.Count < MaxSynonymsPerWord && !list.Contains(word, StringComparer.Ordinal))
                    {
                        list.Add(word);
                    }
                }
            }
        }

        return new SynonymTable(merged.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal));
    }

    /// <summary>The words of the synset at <paramref name="offset"/> of a data file, lower case, adjective markers removed.</summary>
    private static List<string> SynsetWords(FileStream data, long offset)
    {
        data.Seek(offset, SeekOrigin.Begin);
        var bytes = new List<byte>(256);
        int value;
        while ((value = data.ReadByte()) is not -1 and not '\n')
        {
            bytes.Add((byte)value);
        }

        // synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] ...
        var fields = Encoding.UTF8.GetString(bytes.ToArray()).Split(' ');
        var count = int.Parse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var words = new List<string>(count);
        for (var index = 0; index < count; index++)
        {
            var word = fields[4 + 2 * index];
            var marker = word.IndexOf('(', StringComparison.Ordinal);
            words.Add((marker > 0 ? word[..marker] : word).ToLowerInvariant());
        }

        return words;
    }

    /// <summary>Writes the table, one <c>term&lt;TAB&gt;synonyms</c> a line, sorted.</summary>
    public void Save(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var (term, synonyms) in _synonyms.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            writer.Write(term);
            writer.Write('\t');
            writer.Write(string.Join(' ', synonyms));
            writer.Write('\n');
        }
    }

    /// <summary>Reads a table written by <see cref="Save"/>; lines starting with '#' are comments.</summary>
    public static SynonymTable Load(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var synonyms = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab <= 0 || tab == line.Length - 1)
            {
                throw new FormatException($"Synonym table line {number}: expected 'term<TAB>synonym …'.");
            }

            synonyms[line[..tab]] = line[(tab + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }

        return new SynonymTable(synonyms);
    }

    /// <summary>Loads the table at <paramref name="path"/>, or null when there is no such file.</summary>
    public static SynonymTable? LoadIfPresent(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        return Load(reader);
    }
}
